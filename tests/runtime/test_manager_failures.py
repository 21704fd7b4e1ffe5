"""Manager failures: a crash or exit stops it with the error; a lost lease is fatal.

Virtual time and fakes (in-memory lease with injected partitions). A server that
cannot bind is covered in test_manager_http.py.
"""

from __future__ import annotations

import asyncio

import pytest

from bgpctl.runtime.manager import LeaderElectionLostError, Manager, ManagerOptions, RunnableError
from bgpctl.testing.leaselock import InMemoryLeaseServer
from bgpctl.testing.runnables import FakeCache, FakeRunnable, Journal

LEASE, RENEW, RETRY = 15.0, 10.0, 2.0


def now() -> float:
    return asyncio.get_running_loop().time()


def elected(lease: InMemoryLeaseServer, **options: object) -> Manager:
    values: dict[str, object] = {"leader_election": True, "leader_election_id": "test"}
    values.update(options)
    return Manager(
        ManagerOptions(**values),  # type: ignore[arg-type]
        leader_election_lock=lease.lock("me"),
    )


@pytest.mark.looptime
async def test_runnable_crash_stops_the_manager_gracefully() -> None:
    journal, lease = Journal(), InMemoryLeaseServer()
    manager = elected(lease)
    manager.add_cache(FakeCache("cache", journal))
    manager.add(FakeRunnable("crasher", journal, fail_after=5))
    manager.add(FakeRunnable("policy", journal, needs_leader_election=True, drain=1))
    with pytest.raises(RunnableError, match="crasher failed") as info:
        await asyncio.wait_for(manager.start(), 60)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert journal.events()[-4:] == [
        "policy stopping",
        "policy stopped",
        "cache stopping",
        "cache stopped",
    ]
    assert now() == pytest.approx(5 + 1, abs=0.2)  # crash at 5 (after a 0.1 s sync poll), drain 1
    assert lease.record is not None and lease.record.holder_identity == ""  # released


@pytest.mark.looptime
async def test_runnable_exit_is_a_failure() -> None:
    journal = Journal()
    manager = Manager()
    manager.add(FakeRunnable("quitter", journal, exit_after=3))
    manager.add(FakeRunnable("worker", journal))
    with pytest.raises(RunnableError, match="quitter exited unexpectedly"):
        await asyncio.wait_for(manager.start(), 60)
    assert journal.events()[-2:] == ["worker stopping", "worker stopped"]


@pytest.mark.looptime
async def test_leader_runnable_crash_stops_the_manager() -> None:
    journal, lease = Journal(), InMemoryLeaseServer()
    manager = elected(lease)
    manager.add(FakeRunnable("per-node", journal))
    manager.add(FakeRunnable("policy", journal, needs_leader_election=True, fail_after=2))
    with pytest.raises(RunnableError, match="policy failed"):
        await asyncio.wait_for(manager.start(), 60)
    assert journal.events()[-2:] == ["per-node stopping", "per-node stopped"]
    assert lease.record is not None and lease.record.holder_identity == ""


@pytest.mark.looptime
async def test_cache_crash_before_sync_fails_the_start() -> None:
    class CrashingCache(FakeCache):
        async def start(self) -> None:
            await asyncio.sleep(1)
            raise ConnectionError("apiserver gone")

    journal = Journal()
    manager = Manager()
    manager.add_cache(CrashingCache("cache", journal, sync_after=None))
    manager.add(FakeRunnable("worker", journal))
    with pytest.raises(RunnableError, match="cache failed") as info:
        await asyncio.wait_for(manager.start(), 60)
    assert isinstance(info.value.__cause__, ConnectionError)
    assert journal.events() == []


@pytest.mark.looptime
async def test_lost_lease_is_fatal_without_drain() -> None:
    journal, lease = Journal(), InMemoryLeaseServer()
    lock = lease.lock("me")
    manager = Manager(
        ManagerOptions(leader_election=True, leader_election_id="test"),
        leader_election_lock=lock,
    )
    manager.add_cache(FakeCache("cache", journal, drain=5))
    manager.add(FakeRunnable("per-node", journal, drain=5))
    manager.add(FakeRunnable("policy", journal, needs_leader_election=True, drain=5))
    task = asyncio.create_task(manager.start())
    await manager.wait_elected()
    await asyncio.sleep(7)
    partitioned_at = now()
    lock.partition()
    with pytest.raises(LeaderElectionLostError, match="test"):
        await asyncio.wait_for(task, 60)
    lost_at = journal.time_of("policy stopping")
    assert lost_at - partitioned_at <= RETRY + RENEW
    stopping = [t for t, e in journal.entries if e.endswith("stopping")]
    assert stopping == [lost_at] * 3  # everything at once, not group by group
    assert lease.record is not None and lease.record.holder_identity == "me"  # no release


@pytest.mark.looptime
async def test_lease_lost_during_drain_aborts_the_drain() -> None:
    journal, lease = Journal(), InMemoryLeaseServer()
    lock = lease.lock("me")
    manager = Manager(
        ManagerOptions(leader_election=True, leader_election_id="test"),
        leader_election_lock=lock,
    )
    manager.add(FakeRunnable("per-node", journal))
    manager.add(FakeRunnable("policy", journal, needs_leader_election=True, drain=25))
    task = asyncio.create_task(manager.start())
    await manager.wait_elected()
    manager.stop()
    lock.partition()
    with pytest.raises(LeaderElectionLostError):
        await asyncio.wait_for(task, 60)
    aborted = journal.time_of("policy aborted")
    assert aborted <= RETRY + RENEW + 0.5  # cut short, not 25 s
    assert journal.time_of("per-node stopping") == aborted
