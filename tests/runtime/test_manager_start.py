"""Manager start order: servers, caches (synced), runnables, election, leader runnables.

Virtual time (looptime) and fakes only: FakeCache/FakeRunnable journals and the
in-memory lease. HTTP endpoints are covered in test_manager_http.py, stopping and
failures in test_manager_stop.py and test_manager_failures.py.
"""

from __future__ import annotations

import asyncio

import pytest

from bgpctl.runtime.leaderelection import LeaderElectionRecord
from bgpctl.runtime.manager import Manager, ManagerOptions
from bgpctl.runtime.runnable import CacheSyncTimeoutError
from bgpctl.testing.leaselock import InMemoryLeaseServer
from bgpctl.testing.runnables import FakeCache, FakeRunnable, Journal


def elected_options(**overrides: object) -> ManagerOptions:
    values: dict[str, object] = {"leader_election": True, "leader_election_id": "test"}
    values.update(overrides)
    return ManagerOptions(**values)  # type: ignore[arg-type]


class SwitchRecorder:
    def __init__(self) -> None:
        self.states: list[tuple[str, bool]] = []

    def on(self, name: str) -> None:
        self.states.append((name, True))

    def off(self, name: str) -> None:
        self.states.append((name, False))


async def stop_and_wait(manager: Manager, task: asyncio.Task[None]) -> None:
    manager.stop()
    await asyncio.wait_for(task, 60)


@pytest.mark.looptime
async def test_start_order_without_leader_election() -> None:
    journal = Journal()
    manager = Manager()
    manager.add(FakeRunnable("leader-only", journal, needs_leader_election=True))
    manager.add(FakeRunnable("worker", journal))
    manager.add_cache(FakeCache("cache", journal, sync_after=3))
    task = asyncio.create_task(manager.start())
    await asyncio.wait_for(manager.wait_elected(), 10)
    assert journal.events() == [
        "cache started",
        "cache synced",
        "worker started",
        "leader-only started",
    ]
    assert journal.time_of("worker started") >= 3
    assert manager.is_leader()
    await stop_and_wait(manager, task)


@pytest.mark.looptime
async def test_runnables_wait_for_every_cache() -> None:
    journal = Journal()
    manager = Manager()
    manager.add_cache(FakeCache("fast", journal, sync_after=1))
    manager.add_cache(FakeCache("slow", journal, sync_after=7))
    manager.add(FakeRunnable("worker", journal))
    task = asyncio.create_task(manager.start())
    await asyncio.sleep(6)
    assert "worker started" not in journal.events()
    await asyncio.sleep(2)
    assert journal.events()[-1] == "worker started"
    assert 7 <= journal.time_of("worker started") <= 7.2  # polled every 100 ms
    await stop_and_wait(manager, task)


@pytest.mark.looptime
async def test_cache_sync_timeout_fails_the_start() -> None:
    journal = Journal()
    manager = Manager(ManagerOptions(cache_sync_timeout=20))
    manager.add_cache(FakeCache("stuck", journal, sync_after=None))
    manager.add(FakeRunnable("worker", journal))
    with pytest.raises(CacheSyncTimeoutError, match="stuck"):
        await asyncio.wait_for(manager.start(), 60)
    assert asyncio.get_running_loop().time() == pytest.approx(20, abs=0.2)
    assert journal.events() == ["stuck started", "stuck stopping", "stuck stopped"]


@pytest.mark.looptime
async def test_leader_runnables_start_only_when_elected() -> None:
    journal = Journal()
    lease = InMemoryLeaseServer()
    other = lease.lock("other")
    await other.create(LeaderElectionRecord(holder_identity="other", lease_duration_seconds=15))
    metric = SwitchRecorder()
    manager = Manager(
        elected_options(), leader_election_lock=lease.lock("me"), leader_election_metrics=metric
    )
    manager.add(FakeRunnable("policy", journal, needs_leader_election=True))
    manager.add(FakeRunnable("per-node", journal))
    task = asyncio.create_task(manager.start())
    await asyncio.sleep(10)
    assert journal.events() == ["per-node started"]  # standby: per-node work runs
    assert not manager.is_leader()
    await asyncio.wait_for(manager.wait_elected(), 30)  # "other" never renews
    assert journal.events() == ["per-node started", "policy started"]
    assert asyncio.get_running_loop().time() >= 15
    assert metric.states == [("test", False), ("test", True)]
    await stop_and_wait(manager, task)


@pytest.mark.looptime
async def test_leader_election_starts_after_non_leader_runnables() -> None:
    journal = Journal()
    lease = InMemoryLeaseServer()
    manager = Manager(elected_options(), leader_election_lock=lease.lock("me"))
    manager.add_cache(FakeCache("cache", journal, sync_after=2))
    manager.add(FakeRunnable("per-node", journal))
    manager.add(FakeRunnable("policy", journal, needs_leader_election=True))
    task = asyncio.create_task(manager.start())
    await asyncio.wait_for(manager.wait_elected(), 10)
    assert journal.events() == [
        "cache started",
        "cache synced",
        "per-node started",
        "policy started",
    ]
    first_write = lease.history[0]
    assert first_write.holder_identity == "me"
    assert lease.lock("me").describe() == "bgp-system/bgpctl"
    await stop_and_wait(manager, task)


async def test_leader_election_requires_a_lock() -> None:
    with pytest.raises(ValueError, match="leader_election_lock"):
        Manager(elected_options())


async def test_leader_election_timings_are_validated() -> None:
    with pytest.raises(ValueError, match="renew_deadline"):
        Manager(
            elected_options(lease_duration=4, renew_deadline=3, retry_period=3),
            leader_election_lock=InMemoryLeaseServer().lock("me"),
        )


@pytest.mark.looptime
async def test_adding_after_start_is_refused() -> None:
    manager = Manager()
    task = asyncio.create_task(manager.start())
    await asyncio.sleep(1)
    with pytest.raises(RuntimeError, match="started"):
        manager.add(FakeRunnable("late", Journal()))
    with pytest.raises(RuntimeError, match="already started"):
        await manager.start()
    await stop_and_wait(manager, task)
