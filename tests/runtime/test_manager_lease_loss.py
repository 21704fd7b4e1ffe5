"""A lost lease that is not fatal: only leader-only runnables stop; they run again on re-election.

Virtual time and fakes (in-memory lease with injected partitions).
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bgpctl.runtime.manager import Manager, ManagerOptions
from bgpctl.runtime.runnable import Rebuilding
from bgpctl.testing.leaselock import InMemoryLeaseServer
from bgpctl.testing.runnables import FakeCache, FakeRunnable, Journal

RENEW, RETRY = 10.0, 2.0


@pytest.mark.looptime
async def test_lost_lease_stops_only_leader_runnables_and_they_come_back() -> None:
    journal, lease = Journal(), InMemoryLeaseServer()
    lock = lease.lock("me")
    manager = Manager(
        ManagerOptions(
            leader_election=True, leader_election_id="test", leader_election_lost_is_fatal=False
        ),
        leader_election_lock=lock,
    )
    serial = itertools.count()
    manager.add_cache(FakeCache("cache", journal))
    manager.add(FakeRunnable("per-node", journal))
    manager.add(Rebuilding(lambda: FakeRunnable(f"policy-{next(serial)}", journal), name="policy"))
    task = asyncio.create_task(manager.start())
    await manager.wait_elected()
    await asyncio.sleep(5)
    lock.partition()
    await asyncio.sleep(RENEW + 2 * RETRY + 1)
    assert journal.events() == [
        "cache started",
        "cache synced",
        "per-node started",
        "policy-0 started",
        "policy-0 stopping",
        "policy-0 stopped",
    ]
    assert not manager.is_leader()
    assert not task.done()

    lock.heal()
    await manager.wait_elected()
    await asyncio.sleep(1)
    assert journal.events()[-1] == "policy-1 started"
    assert "per-node stopping" not in journal.events()

    manager.stop()
    await asyncio.wait_for(task, 60)
    assert journal.events().count("per-node started") == 1
