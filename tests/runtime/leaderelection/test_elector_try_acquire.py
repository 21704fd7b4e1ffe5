"""try_acquire_or_renew: the acquire/renew decision, one attempt at a time.

Ports client-go ``leaderelection_test.go`` ``testTryAcquireOrRenew`` (the Lease cases;
the annotation-based Endpoints/ConfigMap cases do not apply) and the observed-time
rules behind ``isLeaseValid``. Time is virtual (looptime); the in-memory lock stands
in for the API server. The run loops are covered in test_elector_run.py.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from bgpctl.runtime.client.errors import ApiError, Conflict
from bgpctl.runtime.leaderelection import LeaderElectionRecord
from bgpctl.testing.leaselock import InMemoryLeaseServer

LEASE = 15.0  # the candidates fixture default (conftest.py)

US = "baz"
PAST = datetime(2020, 1, 1, tzinfo=UTC)


def held_by(holder: str, *, transitions: int = 3, renewed: datetime = PAST) -> LeaderElectionRecord:
    return LeaderElectionRecord(
        holder_identity=holder,
        lease_duration_seconds=int(LEASE),
        acquire_time=PAST,
        renew_time=renewed,
        lease_transitions=transitions,
    )


@dataclass(frozen=True)
class Case:
    record: LeaderElectionRecord | None
    seen_before: float | None  # seconds before the attempt we first read the same record
    expect_success: bool
    expect_holder: str
    expect_transitions: int


CASES = {
    "acquire from no object": Case(None, None, True, US, 0),
    "acquire from unled object": Case(held_by(""), None, True, US, 4),
    "acquire from led, unacked object": Case(held_by("bing"), LEASE + 1, True, US, 4),
    "acquire from empty led, acked object": Case(held_by(""), None, True, US, 4),
    "don't acquire from led, acked object": Case(held_by("bing"), LEASE - 1, False, "bing", 3),
    "don't acquire from led object seen for the first time": Case(
        held_by("bing"), None, False, "bing", 3
    ),
    "renew already acquired object": Case(held_by(US), None, True, US, 3),
}


@pytest.mark.looptime
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_try_acquire_or_renew(server: InMemoryLeaseServer, candidates, case: Case) -> None:
    """Mirrors ``testTryAcquireOrRenew`` (one row per upstream case, Lease lock)."""
    if case.record is not None:
        server.write(case.record)
    elector = candidates(US).elector
    if case.seen_before is not None:
        assert not await elector.try_acquire_or_renew()  # the first look starts the clock
        await asyncio.sleep(case.seen_before)

    assert await elector.try_acquire_or_renew() is case.expect_success

    assert server.record is not None
    assert server.record.holder_identity == case.expect_holder
    assert server.record.lease_transitions == case.expect_transitions
    assert elector.get_leader() == case.expect_holder
    assert elector.is_leader() is (case.expect_holder == US)


@pytest.mark.looptime
async def test_renewal_keeps_acquire_time_and_transitions(server, candidates) -> None:
    """Mirrors the "renew already acquired object" row: only renew_time moves."""
    elector = candidates(US).elector
    assert await elector.try_acquire_or_renew()
    first = server.record
    await asyncio.sleep(3)
    assert await elector.try_acquire_or_renew()
    assert server.record is not None and first is not None
    assert server.record.acquire_time == first.acquire_time
    assert server.record.lease_transitions == first.lease_transitions
    assert server.record.renew_time is not None and first.renew_time is not None
    assert server.record.renew_time > first.renew_time


@pytest.mark.looptime
async def test_remote_timestamps_are_never_compared_with_our_clock(server, candidates) -> None:
    """A holder whose renew_time is far in the past or future counts from our first look.

    The observed-time rule: only our monotonic clock measures the lease.
    """
    server.write(held_by("bing", renewed=datetime(1999, 1, 1, tzinfo=UTC)))
    elector = candidates(US).elector
    assert not await elector.try_acquire_or_renew()  # stale stamp, but just seen: alive
    server.write(held_by("bing", renewed=datetime(2999, 1, 1, tzinfo=UTC)))
    await asyncio.sleep(LEASE - 1)
    assert not await elector.try_acquire_or_renew()  # changed: the clock restarted
    await asyncio.sleep(LEASE - 2)
    assert not await elector.try_acquire_or_renew()  # 2*LEASE-3 s total, but only LEASE-2 since
    await asyncio.sleep(2)
    assert await elector.try_acquire_or_renew()  # a future stamp buys nothing


@pytest.mark.looptime
async def test_a_renewing_holder_is_never_taken_over(server, candidates) -> None:
    """Every change we observe restarts the lease clock, however long we wait."""
    elector = candidates(US).elector
    for second in range(0, int(4 * LEASE), 2):
        server.write(held_by("bing", renewed=PAST + timedelta(seconds=second)))
        assert not await elector.try_acquire_or_renew()
        await asyncio.sleep(2)
    assert elector.get_leader() == "bing"


@pytest.mark.looptime
async def test_lease_duration_is_the_holders_not_ours(server, candidates) -> None:
    """isLeaseValid uses the observed record's leaseDurationSeconds."""
    server.write(
        LeaderElectionRecord(holder_identity="bing", lease_duration_seconds=60, renew_time=PAST)
    )
    elector = candidates(US).elector
    assert not await elector.try_acquire_or_renew()
    await asyncio.sleep(LEASE + 1)
    assert not await elector.try_acquire_or_renew()
    await asyncio.sleep(60 - LEASE)
    assert await elector.try_acquire_or_renew()


@pytest.mark.looptime
async def test_get_error_fails_the_attempt(server, candidates) -> None:
    """Any error but NotFound from get fails the attempt without writing."""
    candidate = candidates(US)
    candidate.lock.fail("get", ApiError("boom", code=500))
    assert not await candidate.elector.try_acquire_or_renew()
    assert server.history == []
    assert await candidate.elector.try_acquire_or_renew()


@pytest.mark.looptime
async def test_create_error_fails_the_attempt(server, candidates) -> None:
    """Mirrors "error initially creating leader election record"."""
    candidate = candidates(US)
    candidate.lock.fail("create", ApiError("boom", code=500))
    assert not await candidate.elector.try_acquire_or_renew()
    assert not candidate.elector.is_leader()


@pytest.mark.looptime
async def test_racing_candidates_only_one_wins(server, candidates) -> None:
    """Two candidates read the same unheld lease; the second write conflicts."""
    server.write(held_by(""))
    a, b = candidates("a").elector, candidates("b").elector
    a_won, b_won = await asyncio.gather(a.try_acquire_or_renew(), b.try_acquire_or_renew())
    assert sorted([a_won, b_won]) == [False, True]
    assert server.record is not None
    assert server.record.holder_identity == ("a" if a_won else "b")
    assert server.record.lease_transitions == 4


@pytest.mark.looptime
async def test_fast_path_renews_without_reading(server, candidates) -> None:
    """Mirrors ``TestFastPathLeaderElection``: a valid leader only updates."""
    candidate = candidates(US)
    assert await candidate.elector.try_acquire_or_renew()  # get -> NotFound, create
    for _ in range(3):
        await asyncio.sleep(2)
        assert await candidate.elector.try_acquire_or_renew()
    assert candidate.lock.calls == {"get": 1, "create": 1, "update": 3}


@pytest.mark.looptime
async def test_fast_path_falls_back_to_slow_path(server, candidates) -> None:
    """A failed optimistic update falls back to get + update, and still renews."""
    candidate = candidates(US)
    assert await candidate.elector.try_acquire_or_renew()
    candidate.lock.fail("update", Conflict("stale"))
    assert await candidate.elector.try_acquire_or_renew()
    assert candidate.lock.calls == {"get": 2, "create": 1, "update": 2}
    assert server.record is not None and server.record.holder_identity == US


@pytest.mark.looptime
async def test_fast_path_conflict_reveals_a_new_holder(server, candidates) -> None:
    """If someone else wrote meanwhile, the slow path sees them and we stop leading."""
    candidate = candidates(US)
    assert await candidate.elector.try_acquire_or_renew()
    server.write(held_by("bing"))
    assert not await candidate.elector.try_acquire_or_renew()
    assert candidate.elector.get_leader() == "bing"
    assert not candidate.elector.is_leader()


@pytest.mark.looptime
async def test_expired_leader_uses_slow_path(server, candidates) -> None:
    """Once our own lease ran out on our clock, renewal reads first (no fast path)."""
    candidate = candidates(US)
    assert await candidate.elector.try_acquire_or_renew()
    await asyncio.sleep(LEASE + 1)
    assert await candidate.elector.try_acquire_or_renew()
    assert candidate.lock.calls["get"] == 2
    assert server.record is not None and server.record.lease_transitions == 0
