"""A lost lease that is not fatal: only leader-only runnables stop; they run again on re-election.

Virtual time and fakes (in-memory lease with injected partitions).
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bgpctl.runtime.controller import Controller, ControllerOptions
from bgpctl.runtime.manager import Manager, ManagerOptions
from bgpctl.runtime.reconcile import Request, Result
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


def test_a_controller_that_starts_once_is_refused_where_the_lease_can_be_won_back() -> None:
    """A bare leader-only controller would fail its second start after a re-election."""

    class Reconciler:
        async def reconcile(self, request: Request) -> Result:
            return Result()

    def controller() -> Controller:
        return Controller(
            "leader-only", Reconciler(), options=ControllerOptions(needs_leader_election=True)
        )

    surviving = Manager(
        ManagerOptions(
            leader_election=True, leader_election_id="test", leader_election_lost_is_fatal=False
        ),
        leader_election_lock=InMemoryLeaseServer().lock("me"),
    )
    with pytest.raises(ValueError, match="wrap it in Rebuilding"):
        surviving.add(controller())
    surviving.add(Rebuilding(controller, name="leader-only"))
    # Where a lost lease ends the process, a controller never starts twice.
    fatal = Manager(
        ManagerOptions(leader_election=True, leader_election_id="test"),
        leader_election_lock=InMemoryLeaseServer().lock("me"),
    )
    fatal.add(controller())
