"""RouteSyncer against InMemoryRouteTable: diff, coalescing, failures, exclusions, lifecycle.

Kernel semantics (EEXIST/ESRCH rules, protocol matching) come from the in-memory table;
the real kernel is covered by test_netlink_kernel.py.
"""

import errno

import pytest

from bgpctl.routesync import OpKind, Route, RouteSyncer, RouteSyncOptions, Withdraw
from bgpctl.routesync.errors import GatewayUnreachable, RouteExists
from bgpctl.testing.routes import InMemoryRouteTable

GW = "2001:db8:ff::2"
GW2 = "2001:db8:ff::3"


def v6(i: int, gw: str = GW, table: int = 254) -> Route:
    return Route.via(f"2001:db8:{i:x}::/48", gw, table=table)


def syncer(kernel: InMemoryRouteTable, **options: object) -> RouteSyncer:
    opts = {"retry_base": 0.01, "retry_max": 0.05, **options}
    return RouteSyncer(kernel, options=RouteSyncOptions(**opts))  # type: ignore[arg-type]


async def test_start_adopts_our_routes_and_deletes_nothing_until_the_full_set() -> None:
    kernel = InMemoryRouteTable()
    kernel.seed(v6(1), metric=1024, protocol=196)
    kernel.seed(v6(2), metric=1024, protocol=196)
    async with syncer(kernel) as engine:
        await engine.wait_idle()
        assert kernel.batches == []
        assert engine.status().installed == 2
        engine.replace([v6(1), v6(3)])
        await engine.wait_idle()
        assert kernel.ours() == {v6(1).key: v6(1), v6(3).key: v6(3)}
        ops = sorted(op[0] for batch in kernel.batches for op in batch)
        assert ops == [OpKind.ADD, OpKind.DELETE]


async def test_foreign_routes_and_other_tables_survive_everything() -> None:
    kernel = InMemoryRouteTable()
    foreign = v6(1, GW2)
    kernel.seed(foreign, metric=1024, protocol=4)  # same key as ours will be
    kernel.seed(v6(2), metric=1024, protocol=186)
    kernel.seed(v6(3, table=100), metric=1024, protocol=196)  # ours by number, other table
    before = dict(kernel.entries)
    async with syncer(kernel, withdraw_on_shutdown=True) as engine:
        engine.replace([v6(1), v6(4)])
        await engine.wait_idle()
        engine.apply([Withdraw(v6(2).dst), Withdraw(v6(3).dst, table=254)])
        await engine.wait_idle()
        failure = engine.status().failures[v6(1).key]
        assert isinstance(failure.error, RouteExists)
    for key, value in before.items():
        assert kernel.entries[key] == value
    assert kernel.ours() == {v6(3, table=100).key: v6(3, table=100)}


async def test_nexthop_change_is_one_replace() -> None:
    kernel = InMemoryRouteTable()
    async with syncer(kernel) as engine:
        engine.replace([v6(1)])
        await engine.wait_idle()
        kernel.batches.clear()
        engine.apply([v6(1, GW2)])
        await engine.wait_idle()
        assert kernel.batches == [[(OpKind.REPLACE, v6(1, GW2), 1024)]]
        engine.apply([v6(1, GW2)])  # no change: no write
        await engine.wait_idle()
        assert len(kernel.batches) == 1


async def test_a_burst_of_changes_is_coalesced_into_few_batches() -> None:
    kernel = InMemoryRouteTable()
    async with syncer(kernel, coalesce_window=0.05) as engine:
        engine.replace([])
        for i in range(500):
            engine.apply([v6(i)])  # one change at a time, as a stream delivers them
        engine.apply([v6(7, GW2), Withdraw(v6(8).dst)])
        await engine.wait_idle()
    assert len(kernel.batches) == 1
    assert len(kernel.ours()) == 499
    assert kernel.ours()[v6(7).key] == v6(7, GW2)


async def test_large_input_is_split_at_max_batch() -> None:
    kernel = InMemoryRouteTable()
    async with syncer(kernel, max_batch=100) as engine:
        engine.replace([v6(i) for i in range(250)])
        await engine.wait_idle()
    assert [len(b) for b in kernel.batches] == [100, 100, 50]


async def test_one_failing_route_fails_alone_is_reported_and_retried() -> None:
    kernel = InMemoryRouteTable(fail={v6(5).dst: errno.ENETUNREACH})
    async with syncer(kernel) as engine:
        engine.replace([v6(i) for i in range(10)])
        await engine.wait_idle()
        status = engine.status()
        assert status.installed == 9 and status.failed == 1
        failure = status.failures[v6(5).key]
        assert isinstance(failure.error, GatewayUnreachable)
        assert failure.error.errno == errno.ENETUNREACH
        writes_before = len(kernel.batches)
        del kernel.fail[v6(5).dst]
        while engine.status().failed:
            await engine.wait_idle()
            await _tick()
        assert len(kernel.batches) > writes_before
        assert len(kernel.ours()) == 10


async def test_retries_back_off() -> None:
    kernel = InMemoryRouteTable(fail={v6(1).dst: errno.EINVAL})
    async with syncer(kernel, retry_base=0.01, retry_max=1.0) as engine:
        engine.replace([v6(1)])
        for _ in range(100):
            await _tick()
            if engine.status().failures[v6(1).key].attempts >= 3:
                break
        failure = engine.status().failures[v6(1).key]
        assert failure.attempts >= 3
        attempts = [b for b in kernel.batches]
        assert len(attempts) == failure.attempts  # no hot loop between backoffs


async def test_exclusions_match_by_containment_and_remove_installed_routes() -> None:
    kernel = InMemoryRouteTable()
    inside = Route.via("2001:db8:5:1::/64", GW)
    async with syncer(kernel, exclude=("2001:db8:5::/48",)) as engine:
        engine.replace([inside, v6(5), v6(6), v6(7)])
        await engine.wait_idle()
        assert set(kernel.ours()) == {v6(6).key, v6(7).key}
        engine.set_excluded(["2001:db8:6::/47"])  # own originated: covers 6 and 7
        await engine.wait_idle()
        assert kernel.ours() == {}
        engine.set_excluded([])
        await engine.wait_idle()
        assert set(kernel.ours()) == {v6(6).key, v6(7).key}


async def test_routes_via_local_addresses_are_not_installed() -> None:
    kernel = InMemoryRouteTable(addresses={"2001:db8:ff::1", "198.51.100.1"})
    ecmp = Route.via("2001:db8:9::/48", "2001:db8:ff::1", GW)
    async with syncer(kernel) as engine:
        engine.replace([v6(1, "2001:db8:ff::1"), Route.via("203.0.113.0/24", "198.51.100.1"), ecmp])
        await engine.wait_idle()
        assert kernel.ours() == {ecmp.key: Route.via(ecmp.dst, GW)}


async def test_withdraw_before_the_full_set_deletes_an_adopted_route() -> None:
    kernel = InMemoryRouteTable()
    kernel.seed(v6(1), metric=1024, protocol=196)
    async with syncer(kernel) as engine:
        engine.apply([Withdraw(v6(1).dst)])
        await engine.wait_idle()
        assert kernel.ours() == {}


async def test_stale_routes_with_another_metric_are_deleted_after_sync() -> None:
    kernel = InMemoryRouteTable()
    kernel.seed(v6(1), metric=500, protocol=196)
    async with syncer(kernel) as engine:
        engine.replace([v6(1)])
        await engine.wait_idle()
    assert kernel.entries == {(254, v6(1).dst, 1024): (196, v6(1))}


async def test_shutdown_leaves_routes_by_default_and_withdraws_on_request() -> None:
    kernel = InMemoryRouteTable()
    async with syncer(kernel) as engine:
        engine.replace([v6(1), v6(2)])
        await engine.wait_idle()
    assert len(kernel.ours()) == 2
    async with syncer(kernel, withdraw_on_shutdown=True) as engine:
        await engine.wait_idle()
    assert kernel.ours() == {}


async def test_unmanaged_tables_are_rejected() -> None:
    engine = syncer(InMemoryRouteTable(), extra_tables=frozenset({100}))
    engine.apply([v6(1, table=100)])
    with pytest.raises(ValueError):
        engine.apply([v6(1, table=101)])
    with pytest.raises(ValueError):
        engine.replace([v6(1, table=7)])


async def _tick() -> None:
    import asyncio

    await asyncio.sleep(0.01)


async def test_lost_acks_trigger_a_resync_that_learns_the_real_state() -> None:
    kernel = InMemoryRouteTable(lost_acks={v6(3).dst})
    async with syncer(kernel) as engine:
        engine.replace([v6(i) for i in range(5)])
        await engine.wait_idle()
        assert kernel.dumps == 2  # start, then the resync after the lost ack
        status = engine.status()
        assert status.installed == 5  # the dump showed v6(3) did get installed
        kernel.lost_acks.clear()
        assert kernel.ours() == {v6(i).key: v6(i) for i in range(5)}


async def test_a_broken_table_fails_every_route_and_recovers() -> None:
    kernel = InMemoryRouteTable(broken=OSError(errno.EBADF, "socket closed"))
    async with syncer(kernel) as engine:
        engine.replace([v6(1), v6(2)])
        for _ in range(50):
            await _tick()
            if engine.status().failed == 2:
                break
        assert engine.status().failed == 2
        assert engine.status().failures[v6(1).key].error.errno == errno.EBADF
        kernel.broken = None
        for _ in range(100):
            await _tick()
            if not engine.status().failed:
                break
        await engine.wait_idle()
        assert len(kernel.ours()) == 2


async def test_a_full_set_given_before_start_still_removes_stale_routes() -> None:
    kernel = InMemoryRouteTable()
    kernel.seed(v6(1), metric=1024, protocol=196)
    kernel.seed(v6(2), metric=1024, protocol=196)
    engine = syncer(kernel)
    engine.replace([v6(2, GW2), v6(3)])
    async with engine:
        await engine.wait_idle()
    assert kernel.ours() == {v6(2).key: v6(2, GW2), v6(3).key: v6(3)}
