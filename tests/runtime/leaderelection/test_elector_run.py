"""LeaderElector.run: the acquire, renew and release loops over virtual time.

Ports the loop-level cases of client-go ``leaderelection_test.go``
(``TestReleaseOnCancellation_Leases``, ``TestReleaseLeaseLeases``, renew deadline
expiry, ``TestFastPathLeaderElection``'s steady state) plus failover timing between
two candidates, and ``healthzadaptor_test.go``. The single-attempt decision table is
in test_elector_try_acquire.py. Not covered here: a real API server (see
test_leaselock_integration.py).
"""

from __future__ import annotations

import asyncio

import pytest

from bgpctl.runtime.leaderelection import JITTER_FACTOR, LeaderElectionUnhealthyError
from bgpctl.testing.leaselock import InMemoryLeaseServer

LEASE, RENEW, RETRY = 15.0, 10.0, 2.0  # the candidates fixture defaults (conftest.py)
MAX_WAIT = RETRY * (1 + JITTER_FACTOR)


def now() -> float:
    return asyncio.get_running_loop().time()


def last_renewal_by(server: InMemoryLeaseServer, identity: str) -> float:
    """Loop time of the holder's last successful write (virtual_wall_clock stamps)."""
    from bgpctl.testing.leaselock import _EPOCH

    stamps = [r.renew_time for r in server.history if r.holder_identity == identity]
    assert stamps and stamps[-1] is not None
    return (stamps[-1] - _EPOCH).total_seconds()


@pytest.mark.looptime
async def test_run_acquires_and_starts_leading(server, candidates) -> None:
    a = candidates("a")
    a.start()
    await asyncio.wait_for(a.leading.wait(), 1)
    assert a.journal == ["started"]
    assert a.new_leaders == ["a"]
    assert a.metric.states == [("test-lease", False), ("test-lease", True)]
    assert server.events == ["a became leader"]
    assert a.elector.is_leader()


@pytest.mark.looptime
async def test_leader_renews_every_retry_period(server, candidates) -> None:
    """wait.Until: one renewal right after acquiring, then one per retry period."""
    a = candidates("a")
    a.start()
    await a.leading.wait()
    await asyncio.sleep(10 * RETRY + 0.5)
    assert len(server.history) == 1 + 1 + 10  # create, the immediate renewal, 10 periods
    assert server.holders() == ["a"]
    assert a.lock.calls["get"] == 1  # the fast path never reads


@pytest.mark.looptime
async def test_release_on_cancel(server, candidates) -> None:
    """Mirrors ``TestReleaseOnCancellation_Leases``: cancel releases after leading stops."""
    a = candidates("a")
    a.start()
    await a.leading.wait()
    transitions = server.record.lease_transitions if server.record else None
    await a.cancel()
    assert a.task is not None and a.task.cancelled()
    assert a.journal == ["started", "leading cancelled", "stopped"]
    assert server.record is not None
    assert server.record.holder_identity == ""
    assert server.record.lease_duration_seconds == 1
    assert server.record.lease_transitions == transitions
    assert a.metric.states[-1] == ("test-lease", False)
    assert not a.elector.is_leader()


@pytest.mark.looptime
async def test_no_release_without_release_on_cancel(server, candidates) -> None:
    a = candidates("a", release_on_cancel=False)
    a.start()
    await a.leading.wait()
    await a.cancel()
    assert server.record is not None and server.record.holder_identity == "a"
    assert a.journal == ["started", "leading cancelled", "stopped"]


@pytest.mark.looptime
async def test_standby_never_starts_leading(server, candidates) -> None:
    """on_stopped_leading runs on exit even for a candidate that never led."""
    a, b = candidates("a"), candidates("b")
    a.start()
    await a.leading.wait()
    b.start()
    await asyncio.sleep(5 * LEASE)
    assert b.journal == []
    assert b.new_leaders == ["a"]
    await b.cancel()
    assert b.journal == ["stopped"]
    assert server.holders() == ["a"]


@pytest.mark.looptime
async def test_acquire_attempts_are_jittered_retry_periods(server, candidates) -> None:
    """JitterUntil(retry_period, 1.2, sliding): gaps fall in [retry, 2.2 * retry)."""
    a, b = candidates("a"), candidates("b")
    a.start()
    await a.leading.wait()
    b.start()
    await asyncio.sleep(20 * RETRY)
    times = [t for t, op in b.lock.log if op == "get"]
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert len(gaps) >= 8
    assert all(RETRY <= gap < MAX_WAIT for gap in gaps), gaps
    assert len(set(gaps)) > 1  # jittered, not fixed


@pytest.mark.looptime
async def test_handover_by_release_is_immediate(server, candidates) -> None:
    """After a release the standby acquires on its next attempt, well under a lease."""
    a, b = candidates("a"), candidates("b")
    a.start()
    await a.leading.wait()
    b.start()
    await asyncio.sleep(3 * LEASE)
    released_at = now()
    await a.cancel()
    await asyncio.wait_for(b.leading.wait(), LEASE)
    assert b.started_at is not None
    assert b.started_at - released_at <= MAX_WAIT
    assert server.holders() == ["a", "", "b"]
    assert server.record is not None and server.record.lease_transitions == 1
    assert b.new_leaders == ["a", "b"]


@pytest.mark.looptime
async def test_standby_takes_over_only_after_the_lease_expires(server, candidates) -> None:
    """A leader that dies silently is replaced after one lease (plus polling slack)."""
    a, b = candidates("a", release_on_cancel=False), candidates("b")
    a.start()
    await a.leading.wait()
    b.start()
    await asyncio.sleep(3 * LEASE + 0.3)
    await a.cancel()  # kill -9: no release
    last_renewal = last_renewal_by(server, "a")
    await asyncio.wait_for(b.leading.wait(), 3 * LEASE)
    assert b.started_at is not None
    waited = b.started_at - last_renewal
    assert LEASE <= waited <= LEASE + 2 * MAX_WAIT, waited
    assert server.holders() == ["a", "b"]
    assert server.record is not None and server.record.lease_transitions == 1


@pytest.mark.looptime
async def test_leader_gives_up_after_renew_deadline(server, candidates) -> None:
    """Renew deadline expiry: a partitioned leader stops leading; run() returns."""
    a = candidates("a")
    a.start()
    await a.leading.wait()
    await asyncio.sleep(4.5)
    a.lock.partition()
    last_renewal = last_renewal_by(server, "a")
    assert a.task is not None
    await asyncio.wait_for(asyncio.shield(a.task), 3 * LEASE)
    assert a.task.exception() is None  # returned: leadership lost
    assert now() - last_renewal <= RETRY + RENEW
    assert a.journal == ["started", "leading cancelled", "stopped"]
    assert a.metric.states[-1] == ("test-lease", False)
    assert server.record is not None and server.record.holder_identity == "a"  # no release


@pytest.mark.looptime
async def test_hung_renewal_is_cut_off_at_the_deadline(server, candidates) -> None:
    """A renewal call that never answers cannot keep us leading past renew_deadline."""
    a = candidates("a")
    a.start()
    await a.leading.wait()
    await asyncio.sleep(0.5)
    a.lock.delay("update", 10 * LEASE)
    a.lock.delay("get", 10 * LEASE)
    started = now()
    assert a.task is not None
    await asyncio.wait_for(asyncio.shield(a.task), 3 * LEASE)
    assert RENEW <= now() - started <= RETRY + RENEW
    assert a.journal[-1] == "stopped"


@pytest.mark.looptime
async def test_old_leader_stops_before_the_new_one_starts(server, candidates) -> None:
    """With lease > renew_deadline + retry, a cut-off leader quits before takeover."""
    a, b = candidates("a"), candidates("b")
    a.start()
    await a.leading.wait()
    b.start()
    await asyncio.sleep(LEASE)
    a.lock.partition()
    assert a.task is not None
    await asyncio.wait_for(asyncio.shield(a.task), 3 * LEASE)
    a_stopped = now()
    await asyncio.wait_for(b.leading.wait(), 3 * LEASE)
    assert b.started_at is not None and b.started_at > a_stopped
    assert server.holders() == ["a", "b"]


@pytest.mark.looptime
async def test_transient_renew_errors_within_deadline_keep_leadership(server, candidates) -> None:
    a = candidates("a")
    a.start()
    await a.leading.wait()
    await asyncio.sleep(0.5)
    a.lock.fail("update", times=3)
    a.lock.fail("get", times=1)
    await asyncio.sleep(4 * RETRY)
    assert a.journal == ["started"]
    assert server.record is not None and server.record.holder_identity == "a"
    assert server.record.lease_transitions == 0


@pytest.mark.looptime
async def test_leading_callback_failure_releases_and_raises(server, candidates) -> None:
    """Upstream would crash the process (goroutine panic); we give up the lease and raise."""

    async def crash() -> None:
        await asyncio.sleep(1)
        raise RuntimeError("leader work crashed")

    a = candidates("a", on_started_leading=crash)
    task = a.start()
    with pytest.raises(RuntimeError, match="leader work crashed"):
        await asyncio.wait_for(task, LEASE)
    assert now() <= 1 + RETRY
    assert server.record is not None and server.record.holder_identity == ""
    assert a.journal == ["stopped"]


@pytest.mark.looptime
async def test_leader_health_check(server, candidates) -> None:
    """Mirrors ``healthzadaptor_test.go``: only a leader with late renewals is unhealthy."""
    follower, leader = candidates("b").elector, candidates("a").elector
    follower.check()  # never observed anything
    assert await leader.try_acquire_or_renew()
    assert not await follower.try_acquire_or_renew()
    leader.check()
    await asyncio.sleep(LEASE - 0.5)
    leader.check()
    await asyncio.sleep(1)
    with pytest.raises(LeaderElectionUnhealthyError, match="test-lease"):
        leader.check()
    leader.check(max_tolerable_expired_lease=5)
    follower.check()
    assert await leader.try_acquire_or_renew()
    leader.check()


@pytest.mark.looptime
async def test_release_writes_an_empty_holder(server, candidates) -> None:
    """Mirrors ``TestReleaseLeaseLeases``."""
    a = candidates("a").elector
    assert await a.try_acquire_or_renew()
    await asyncio.sleep(1)
    assert await a.release()
    assert server.record is not None
    assert server.record.holder_identity == ""
    assert server.record.lease_duration_seconds == 1
    assert server.record.acquire_time == server.record.renew_time
    assert not a.is_leader()


@pytest.mark.looptime
async def test_release_when_not_leader_writes_nothing(server, candidates) -> None:
    b = candidates("b")
    assert await b.elector.release()
    assert b.lock.calls == {}


@pytest.mark.looptime
async def test_release_retries_on_conflict_while_still_holder(server, candidates) -> None:
    a = candidates("a")
    assert await a.elector.try_acquire_or_renew()
    assert server.record is not None
    server.write(server.record)  # same record, new resourceVersion: our cache is stale
    assert await a.elector.release()
    assert server.record.holder_identity == ""
    assert a.lock.calls["update"] == 2


@pytest.mark.looptime
async def test_release_leaves_a_new_holder_alone(server, candidates) -> None:
    a = candidates("a")
    assert await a.elector.try_acquire_or_renew()
    assert server.record is not None
    taken = server.record.__class__(holder_identity="c", lease_duration_seconds=15)
    server.write(taken)
    assert await a.elector.release()
    assert server.record == taken
    assert a.elector.get_leader() == "c"


@pytest.mark.looptime
async def test_release_failure_is_reported(server, candidates) -> None:
    a = candidates("a")
    assert await a.elector.try_acquire_or_renew()
    a.lock.partition()
    assert not await a.elector.release()
    assert server.record is not None and server.record.holder_identity == "a"


@pytest.mark.looptime
async def test_a_leader_callback_that_returns_keeps_the_renew_rhythm(server, candidates) -> None:
    """on_started_leading may only start work elsewhere and return at once."""

    async def start_elsewhere() -> None:
        return None

    a = candidates("a", on_started_leading=start_elsewhere)
    a.start()
    await asyncio.sleep(10 * RETRY + 0.5)
    assert len(server.history) == 1 + 1 + 10
    assert a.elector.is_leader()
