"""Manager stop: reverse order, drain, release after leader work, timeout, signals.

Virtual time and fakes, except the signal test which uses a real SIGTERM to this
process (on the real clock). Failures that stop the manager are in
test_manager_failures.py.
"""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from bgpctl.runtime.leaderelection import LeaderElectionRecord
from bgpctl.runtime.manager import GracefulShutdownTimeoutError, Manager, ManagerOptions
from bgpctl.testing.leaselock import InMemoryLeaseServer, InMemoryLock
from bgpctl.testing.runnables import FakeCache, FakeRunnable, Journal


class JournalingLock(InMemoryLock):
    """Writes "lease released" into the journal when the release lands."""

    def __init__(self, server: InMemoryLeaseServer, identity: str, journal: Journal) -> None:
        super().__init__(server, identity)
        self.journal = journal

    async def update(self, record: LeaderElectionRecord) -> None:
        await super().update(record)
        if not record.holder_identity:
            self.journal.write("lease released")


def full_manager(journal: Journal, lease: InMemoryLeaseServer, **options: object) -> Manager:
    values: dict[str, object] = {"leader_election": True, "leader_election_id": "test"}
    values.update(options)
    manager = Manager(
        ManagerOptions(**values),  # type: ignore[arg-type]
        leader_election_lock=JournalingLock(lease, "me", journal),
    )
    manager.add_cache(FakeCache("cache", journal, drain=1))
    manager.add(FakeRunnable("per-node", journal, drain=2))
    manager.add(FakeRunnable("policy", journal, needs_leader_election=True, drain=3))
    return manager


@pytest.mark.looptime
async def test_stop_runs_in_reverse_order_and_drains() -> None:
    journal, lease = Journal(), InMemoryLeaseServer()
    manager = full_manager(journal, lease)
    task = asyncio.create_task(manager.start())
    await manager.wait_elected()
    await asyncio.sleep(5)
    stop_at = asyncio.get_running_loop().time()
    manager.stop()
    await asyncio.wait_for(task, 60)
    assert journal.events()[4:] == [
        "policy stopping",
        "policy stopped",
        "lease released",
        "per-node stopping",
        "per-node stopped",
        "cache stopping",
        "cache stopped",
    ]
    assert journal.time_of("policy stopped") == pytest.approx(stop_at + 3, abs=0.01)
    assert journal.time_of("per-node stopped") == pytest.approx(stop_at + 5, abs=0.01)
    assert journal.time_of("cache stopped") == pytest.approx(stop_at + 6, abs=0.01)
    assert lease.record is not None and lease.record.holder_identity == ""


@pytest.mark.looptime
async def test_no_release_when_configured_off() -> None:
    journal, lease = Journal(), InMemoryLeaseServer()
    manager = full_manager(journal, lease, leader_election_release_on_cancel=False)
    task = asyncio.create_task(manager.start())
    await manager.wait_elected()
    manager.stop()
    await asyncio.wait_for(task, 60)
    assert "lease released" not in journal.events()
    assert lease.record is not None and lease.record.holder_identity == "me"


@pytest.mark.looptime
async def test_graceful_timeout_cancels_stragglers_and_raises() -> None:
    journal = Journal()
    manager = Manager(ManagerOptions(graceful_shutdown_timeout=5))
    manager.add_cache(FakeCache("cache", journal))
    manager.add(FakeRunnable("slow", journal, drain=100))
    task = asyncio.create_task(manager.start())
    await asyncio.sleep(1)
    manager.stop()
    with pytest.raises(GracefulShutdownTimeoutError, match="5s"):
        await asyncio.wait_for(task, 60)
    assert asyncio.get_running_loop().time() == pytest.approx(6, abs=0.01)
    assert set(journal.events()[-3:]) == {"slow aborted", "cache stopping", "cache stopped"}


@pytest.mark.looptime
async def test_stop_before_start_starts_nothing() -> None:
    journal = Journal()
    manager = Manager()
    manager.add(FakeRunnable("worker", journal))
    manager.stop()
    await asyncio.wait_for(manager.start(), 5)
    assert journal.events() == []


@pytest.mark.looptime
async def test_stop_while_waiting_for_caches() -> None:
    journal = Journal()
    manager = Manager()
    manager.add_cache(FakeCache("cache", journal, sync_after=None))
    manager.add(FakeRunnable("worker", journal))
    task = asyncio.create_task(manager.start())
    await asyncio.sleep(30)
    manager.stop()
    await asyncio.wait_for(task, 5)
    assert journal.events() == ["cache started", "cache stopping", "cache stopped"]


@pytest.mark.looptime
async def test_stop_while_standby_writes_nothing() -> None:
    journal, lease = Journal(), InMemoryLeaseServer()
    lease.write(LeaderElectionRecord(holder_identity="other", lease_duration_seconds=15))
    manager = full_manager(journal, lease)
    task = asyncio.create_task(manager.start())
    await asyncio.sleep(5)
    manager.stop()
    await asyncio.wait_for(task, 60)
    assert "policy started" not in journal.events()
    assert lease.holders() == ["other"]


@pytest.mark.looptime
async def test_cancelling_start_is_a_hard_stop() -> None:
    journal, lease = Journal(), InMemoryLeaseServer()
    manager = full_manager(journal, lease)
    task = asyncio.create_task(manager.start())
    await manager.wait_elected()
    cancelled_at = asyncio.get_running_loop().time()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stopping = [t for t, e in journal.entries if e.endswith("stopping")]
    assert len(stopping) == 3
    assert all(t == cancelled_at for t in stopping)  # all at once, no order


@pytest.mark.timeout(30)
async def test_sigterm_stops_gracefully() -> None:
    journal, lease = Journal(), InMemoryLeaseServer()
    manager = Manager(
        ManagerOptions(leader_election=True, leader_election_id="test", handle_signals=True),
        leader_election_lock=JournalingLock(lease, "me", journal),
    )
    manager.add(FakeRunnable("per-node", journal))
    manager.add(FakeRunnable("policy", journal, needs_leader_election=True))
    task = asyncio.create_task(manager.start())
    await asyncio.wait_for(manager.wait_elected(), 10)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(task, 20)
    assert journal.events()[2:] == [
        "policy stopping",
        "policy stopped",
        "lease released",
        "per-node stopping",
        "per-node stopped",
    ]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
