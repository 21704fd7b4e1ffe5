"""RouteSyncer + NetlinkRouteTable against the real kernel, in a namespace of our own.

Covers: foreign routes (other protocols, and protocol 196 in another table) surviving
every operation; stale routes removed at start and only those; 10k routes in and out;
replace in place; RFC 5549 and ECMP routes; one bad route failing alone; restarts that
rewrite nothing. Rates are measured in benchmarks/bench_routesync.py, not here.
"""

import errno
from collections.abc import Sequence

import pytest

from bgpctl.routesync import NextHop, OpKind, Route, RouteSyncer, RouteSyncOptions, Withdraw
from bgpctl.routesync.errors import RouteSyncError
from bgpctl.routesync.netlink import NetlinkRouteTable
from bgpctl.routesync.types import Op

from .conftest import KernelNs

pytestmark = pytest.mark.root

GW = "2001:db8:ff::2"
GW2 = "2001:db8:ff::3"
GW4 = "198.51.100.2"


class RecordingTable(NetlinkRouteTable):
    """NetlinkRouteTable that remembers the kind of every op it wrote."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.kinds: list[OpKind] = []

    async def write(self, ops: Sequence[Op]) -> dict[int, RouteSyncError]:
        self.kinds.extend(op[0] for op in ops)
        return await super().write(ops)


def v6(i: int, gw: str = GW) -> Route:
    return Route.via(f"2001:db8:{i >> 16:x}:{i & 0xFFFF:x}::/64", gw)


def v4(i: int, gw: str = GW4) -> Route:
    base = ("192.0.2", "203.0.113")[i // 256]
    return Route.via(f"{base}.{i % 256}/32", gw)


def seed_foreign(k: KernelNs) -> None:
    k.ns.ip("-6", "route", "add", "2001:db8:aa::/48", "via", GW2, "proto", "static")
    k.ns.ip("-6", "route", "add", "2001:db8:0:1::/64", "via", GW2, "proto", "static")  # = v6(1)
    k.ns.ip("route", "add", "203.0.113.0/24", "via", GW4, "proto", "boot")
    k.ns.ip("-6", "route", "add", "2001:db8:bb::/48", "via", GW, "proto", "196", "table", "100")
    k.ns.ip("route", "add", "192.0.2.0/24", "via", GW4, "proto", "196", "table", "100")


async def test_foreign_routes_survive_every_operation(kernel_ns: KernelNs) -> None:
    seed_foreign(kernel_ns)
    foreign = kernel_ns.foreign()
    table = NetlinkRouteTable(protocol=196, netns=kernel_ns.ns.name)
    options = RouteSyncOptions(withdraw_on_shutdown=True, retry_base=5.0)
    async with table, RouteSyncer(table, options=options) as engine:
        engine.replace([v6(i) for i in range(50)] + [v4(i) for i in range(10)])
        await engine.wait_idle()
        assert kernel_ns.foreign() == foreign
        engine.apply([v6(i, GW2) for i in range(10)] + [Withdraw(v6(i).dst) for i in range(20, 50)])
        engine.apply([Withdraw("2001:db8:aa::/48"), Withdraw("203.0.113.0/24")])
        await engine.wait_idle()
        assert kernel_ns.foreign() == foreign
        status = engine.status()
        assert set(status.failures) == {v6(1).key}  # the foreign route holds that key
        assert status.failures[v6(1).key].error.errno == errno.EEXIST
    assert kernel_ns.foreign() == foreign
    assert kernel_ns.routes(protocol="196", table="main") == set()


async def test_stale_routes_are_removed_at_start_and_only_those(kernel_ns: KernelNs) -> None:
    seed_foreign(kernel_ns)
    for i in range(2, 12):
        kernel_ns.ns.ip("-6", "route", "add", v6(i).dst, "via", GW, "proto", "196")
    kernel_ns.ns.ip("-6", "route", "add", v6(40).dst, "via", GW, "proto", "196", "metric", "7")
    foreign = kernel_ns.foreign()
    table = RecordingTable(protocol=196, netns=kernel_ns.ns.name)
    async with table, RouteSyncer(table) as engine:
        await engine.wait_idle()
        assert table.kinds == []  # nothing deleted before the desired set is known
        engine.replace([v6(i) for i in range(2, 7)] + [v6(40)])
        await engine.wait_idle()
    assert sorted(table.kinds) == [OpKind.ADD] + [OpKind.DELETE] * 6  # 7..11 and metric 7
    ours = kernel_ns.routes(protocol="196", table="main")
    assert {r[2] for r in ours} == {v6(i).dst for i in range(2, 7)} | {v6(40).dst}
    assert {r[4] for r in ours} == {"1024"}
    assert kernel_ns.foreign() == foreign


async def test_restart_with_the_same_desired_set_writes_nothing(kernel_ns: KernelNs) -> None:
    routes = [v6(i) for i in range(100)] + [v4(i) for i in range(20)]
    routes += [Route.via("2001:db8:e::/48", GW, GW2), Route.via("198.51.100.128/25", GW)]
    table = RecordingTable(protocol=196, netns=kernel_ns.ns.name)
    async with table:
        async with RouteSyncer(table) as engine:
            engine.replace(routes)
            await engine.wait_idle()
        before = kernel_ns.routes(protocol="196")
        table.kinds.clear()
        async with RouteSyncer(table) as engine:
            engine.replace(routes)
            await engine.wait_idle()
            assert engine.status().installed == len(routes)
    assert table.kinds == []
    assert kernel_ns.routes(protocol="196") == before


async def test_10k_routes_added_then_withdrawn_leave_the_table_as_declared(
    kernel_ns: KernelNs,
) -> None:
    seed_foreign(kernel_ns)
    before = kernel_ns.routes()
    routes = [v6(i) for i in range(10_000 - 512)] + [v4(i) for i in range(512)]
    table = NetlinkRouteTable(protocol=196, netns=kernel_ns.ns.name)
    async with table, RouteSyncer(table) as engine:
        engine.replace(routes)
        await engine.wait_idle()
        assert engine.status().failed == 1  # v6(1) collides with the foreign static route
        ours = kernel_ns.routes(protocol="196", table="main")
        assert {r[2] for r in ours} == {r.dst for r in routes} - {v6(1).dst}
        engine.apply(Withdraw(r.dst) for r in routes)
        await engine.wait_idle()
        assert engine.status().installed == 0
    assert kernel_ns.routes() == before


async def test_nexthop_change_replaces_in_place(kernel_ns: KernelNs) -> None:
    table = RecordingTable(protocol=196, netns=kernel_ns.ns.name)
    async with table, RouteSyncer(table) as engine:
        engine.replace([v6(5), v4(5)])
        await engine.wait_idle()
        engine.apply([v6(5, GW2), v4(5, "198.51.100.3")])
        await engine.wait_idle()
        engine.apply([Route.via(v6(5).dst, GW, GW2)])  # becomes ECMP
        await engine.wait_idle()
    assert table.kinds == [OpKind.ADD] * 2 + [OpKind.REPLACE] * 3
    ours = kernel_ns.routes(protocol="196")
    assert {(r[2], r[5]) for r in ours} == {
        (v6(5).dst, f"{GW},{GW2}"),
        (v4(5).dst, "198.51.100.3"),
    }


async def test_ipv4_route_over_ipv6_nexthop_installs(kernel_ns: KernelNs) -> None:
    route = Route.via("203.0.113.64/26", GW)
    async with (
        NetlinkRouteTable(protocol=196, netns=kernel_ns.ns.name) as table,
        RouteSyncer(table) as engine,
    ):
        engine.replace([route])
        await engine.wait_idle()
        assert engine.status().installed == 1
        shown = kernel_ns.ns.ip("route", "show", "proto", "196").stdout
        assert "203.0.113.64/26 via inet6 2001:db8:ff::2" in shown
        assert (await table.dump(tables=frozenset({254}), protocol=196)) == [(route, 0)]


async def test_one_invalid_route_in_a_batch_fails_alone(kernel_ns: KernelNs) -> None:
    bad = Route.via("2001:db8:bad::/48", "2001:db8:ee::2")  # gateway not on any link
    routes = [v6(i) for i in range(100)] + [bad] + [v4(i) for i in range(50)]
    async with (
        NetlinkRouteTable(protocol=196, netns=kernel_ns.ns.name) as table,
        RouteSyncer(table, options=RouteSyncOptions(retry_base=5.0)) as engine,
    ):
        engine.replace(routes)
        await engine.wait_idle()
        status = engine.status()
        assert (status.installed, status.failed) == (150, 1)
        failure = status.failures[bad.key]
        assert failure.error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EINVAL)
        assert failure.attempts == 1
    assert len(kernel_ns.routes(protocol="196")) == 150


async def test_local_gateways_and_excluded_networks_are_not_installed(kernel_ns: KernelNs) -> None:
    options = RouteSyncOptions(exclude=("2001:db8:5::/48",))
    routes = [
        Route.via("2001:db8:4::/48", "2001:db8:ff::1"),  # our own address
        Route.via("203.0.113.0/24", "198.51.100.1"),  # the kernel would accept this one
        Route.via("2001:db8:5:1::/64", GW),  # inside the excluded network
        Route.via("2001:db8:6::/48", GW),
    ]
    async with (
        NetlinkRouteTable(protocol=196, netns=kernel_ns.ns.name) as table,
        RouteSyncer(table, options=options) as engine,
    ):
        engine.replace(routes)
        await engine.wait_idle()
        assert engine.status().failed == 0
    assert {r[2] for r in kernel_ns.routes(protocol="196")} == {"2001:db8:6::/48"}


async def test_extra_table_above_255_with_ecmp_weights_round_trips(kernel_ns: KernelNs) -> None:
    ecmp = Route(
        "2001:db8:77::/48",
        (NextHop(GW, weight=3), NextHop(GW2)),
        table=1000,
    )
    rfc5549 = Route.via("203.0.113.0/25", GW, table=1000)
    kernel_ns.ns.ip(
        "-6", "route", "add", "2001:db8:78::/48", "via", GW, "proto", "196", "table", "1000"
    )
    options = RouteSyncOptions(extra_tables=frozenset({1000}))
    async with NetlinkRouteTable(protocol=196, netns=kernel_ns.ns.name) as table:
        async with RouteSyncer(table, options=options) as engine:
            engine.replace([ecmp, rfc5549])
            await engine.wait_idle()
        dumped = await table.dump(tables=frozenset({1000}), protocol=196)
    assert sorted(dumped, key=lambda entry: entry[0].dst) == [(ecmp, 1024), (rfc5549, 0)]
    shown = kernel_ns.ns.ip("-6", "route", "show", "table", "1000").stdout
    assert "weight 3" in shown
    assert "2001:db8:78::/48" not in shown  # stale route of ours in the extra table


async def test_acks_lost_to_a_full_receive_buffer_are_detected_and_resynced(
    kernel_ns: KernelNs,
) -> None:
    routes = [v6(i) for i in range(1000)]
    # A 4 KB receive buffer holds a handful of acks: most of the batch's acks are dropped.
    table = NetlinkRouteTable(protocol=196, netns=kernel_ns.ns.name, buffer_size=4096)
    async with table, RouteSyncer(table) as engine:
        engine.replace(routes)
        await engine.wait_idle()
        status = engine.status()
        assert (status.installed, status.failed) == (1000, 0)
    assert len(kernel_ns.routes(protocol="196")) == 1000
