"""Health checks: the Checks set (healthz.py) and the manager's built-in checks.

The checks are called directly here, on virtual time; the HTTP endpoints are covered
in tests/metrics/test_server_probes.py and test_manager_http.py.
"""

from __future__ import annotations

import asyncio

import pytest

from bgpctl.runtime.healthz import CheckFailedError, CheckResult, Checks, from_predicate, ping
from bgpctl.runtime.leaderelection import LeaderElectionRecord
from bgpctl.runtime.manager import Manager, ManagerOptions, RunnableError
from bgpctl.runtime.runnable import RunnableFunc, needs_leader_election
from bgpctl.testing.leaselock import InMemoryLeaseServer
from bgpctl.testing.runnables import FakeCache, FakeRunnable, Journal


async def failing() -> None:
    raise CheckFailedError("broken")


async def test_checks_run_in_registration_order() -> None:
    checks = Checks()
    checks.add("b", ping)
    checks.add("a", failing)
    checks.add("c", from_predicate(lambda: False, "predicate false"))
    assert checks.names() == ["b", "a", "c"]
    assert await checks.run(checks.names()) == [
        CheckResult("b"),
        CheckResult("a", "broken"),
        CheckResult("c", "predicate false"),
    ]
    with pytest.raises(KeyError):
        await checks.run(["nope"])


@pytest.mark.parametrize("name", ["", "a/b", "ping"])
async def test_bad_or_duplicate_names_are_refused(name: str) -> None:
    checks = Checks()
    checks.add("ping", ping)
    with pytest.raises(ValueError, match="health check"):
        checks.add(name, ping)


@pytest.mark.looptime
async def test_a_check_is_bounded_by_its_timeout() -> None:
    async def slow() -> None:
        await asyncio.sleep(60)

    checks = Checks(timeout=2)
    checks.add("slow", slow)
    assert await checks.run(["slow"]) == [CheckResult("slow", "timed out after 2s")]
    assert asyncio.get_running_loop().time() == pytest.approx(2)


async def readiness(manager: Manager) -> dict[str, str | None]:
    return {r.name: r.error for r in await manager.readyz.run(manager.readyz.names())}


@pytest.mark.looptime
async def test_readiness_transitions() -> None:
    journal = Journal()
    manager = Manager()
    manager.add_cache(FakeCache("cache", journal, sync_after=5))
    worker = FakeRunnable("worker", journal, ready=False)
    manager.add(worker)
    assert await readiness(manager) == {
        "caches": "caches have not synced",
        "runnables": "runnables not started",
    }
    task = asyncio.create_task(manager.start())
    await asyncio.sleep(6)
    assert await readiness(manager) == {"caches": None, "runnables": "worker is not ready"}
    worker.is_ready = True
    assert await readiness(manager) == {"caches": None, "runnables": None}
    manager.stop()
    assert (await readiness(manager))["runnables"] == "shutting down"
    await asyncio.wait_for(task, 10)


@pytest.mark.looptime
async def test_standby_is_ready_and_alive() -> None:
    """Leader-only runnables are not required: a standby replica is ready."""
    lease = InMemoryLeaseServer()
    holder = lease.lock("other")
    manager = Manager(
        ManagerOptions(leader_election=True, leader_election_id="test"),
        leader_election_lock=lease.lock("me"),
    )
    manager.add(FakeRunnable("policy", Journal(), needs_leader_election=True, ready=False))
    task = asyncio.create_task(manager.start())
    for _ in range(10):  # "other" keeps renewing, so we stay standby
        if lease.record is None:
            await holder.create(LeaderElectionRecord("other", 15))
        else:
            await holder.get()
            await holder.update(
                LeaderElectionRecord("other", 15, lease_transitions=len(lease.history))
            )
        await asyncio.sleep(2)
    assert not manager.is_leader()
    assert await readiness(manager) == {"caches": None, "runnables": None, "leader-election": None}
    healthz = await manager.healthz.run(manager.healthz.names())
    assert [r.name for r in healthz if r.ok] == ["ping", "leader-election"]
    manager.stop()
    await asyncio.wait_for(task, 10)


@pytest.mark.looptime
async def test_a_runnable_cancelled_from_inside_is_a_failure() -> None:
    async def quits_by_cancelling_itself() -> None:
        await asyncio.sleep(1)
        raise asyncio.CancelledError

    manager = Manager()
    manager.add(RunnableFunc(quits_by_cancelling_itself), name="odd")
    with pytest.raises(RunnableError, match="odd was cancelled unexpectedly"):
        await asyncio.wait_for(manager.start(), 10)


async def test_runnable_func_and_election_flag() -> None:
    async def noop() -> None:
        return None

    assert not needs_leader_election(RunnableFunc(noop))
    assert needs_leader_election(RunnableFunc(noop, needs_leader_election=True))
    assert not needs_leader_election(object())
