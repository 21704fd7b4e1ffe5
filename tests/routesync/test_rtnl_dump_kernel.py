"""RouteDumpReader against the real kernel, compared with pyroute2 and ``ip -j``.

Routes are seeded with ``ip`` (not by our writer), so the reader sees every shape the
kernel can hold for protocol 196: plain, ECMP with weights, RFC 5549, link-local with an
interface, non-main table, several metrics for one prefix, shapes we never write
(blackhole, device-only, lwtunnel encap, nexthop object) and attributes we skip (mtu,
realm, preference, expiry, preferred source), next to foreign routes of other protocols
and tables. The reader must return exactly our routes, route for route what the pyroute2
path builds, and what ``ip`` shows.
"""

from __future__ import annotations

import socket
import subprocess
import tempfile

import pytest

from bgpctl.routesync.netlink import NetlinkRouteTable, socket_in_netns
from bgpctl.routesync.rtnl_dump import DumpReplies, RouteDumpReader
from bgpctl.routesync.types import NextHop, Route

from .conftest import KernelNs

pytestmark = pytest.mark.root

GW, GW2, GW4 = "2001:db8:ff::2", "2001:db8:ff::3", "198.51.100.2"
OURS = frozenset({254, 1000})


def try_ip(k: KernelNs, *args: str) -> bool:
    """Run ``ip`` in the namespace; False if this kernel lacks the feature."""
    result = subprocess.run(["ip", "-n", k.ns.name, *args], capture_output=True, text=True)
    return result.returncode == 0


def ifindex(k: KernelNs) -> int:
    return int(k.ns.ip("-o", "link", "show", k.ifname).stdout.split(":", 1)[0])


def seed_mixed(k: KernelNs) -> set[tuple[Route, int]]:
    """Seed ours and foreign routes; return ``(route, metric)`` of ours in OURS."""
    ip = k.ns.ip
    dev = k.ifname
    ip("-6", "route", "add", "2001:db8:10::/48", "via", GW, "proto", "196",
       "mtu", "1400", "pref", "high", "expires", "300")  # fmt: skip
    ip("-6", "route", "add", "2001:db8:10::/48", "via", GW2, "proto", "196", "metric", "2000")
    ip("route", "add", "192.0.2.0/26", "via", GW4, "proto", "196",
       "realm", "7", "mtu", "lock", "1300", "src", "198.51.100.1")  # fmt: skip
    ip("-6", "route", "add", "2001:db8:11::/48", "via", "fe80::2", "dev", dev,
       "proto", "196", "metric", "50")  # fmt: skip
    ip("-6", "route", "add", "blackhole", "2001:db8:12::/48", "proto", "196")
    ip("route", "add", "192.0.2.64/26", "dev", dev, "proto", "196")
    ip("-6", "route", "add", "2001:db8:e::/48", "proto", "196",
       "nexthop", "via", GW, "weight", "3", "nexthop", "via", GW2)  # fmt: skip
    ip("route", "add", "203.0.113.128/25", "proto", "196",
       "nexthop", "via", GW4, "nexthop", "via", "inet6", GW2, "weight", "2")  # fmt: skip
    ip("route", "add", "203.0.113.0/25", "via", "inet6", GW, "proto", "196", "table", "1000")
    ip("-6", "route", "add", "2001:db8:14::/48", "via", GW, "proto", "196",
       "metric", "77", "table", "1000")  # fmt: skip
    # Foreign: other protocols in our tables, protocol 196 in a table that is not ours.
    ip("-6", "route", "add", "2001:db8:aa::/48", "via", GW, "proto", "static")
    ip("route", "add", "203.0.113.0/24", "via", GW4, "proto", "boot")
    ip("-6", "route", "add", "2001:db8:bb::/48", "via", GW, "proto", "196", "table", "100")
    ip("route", "add", "192.0.2.0/24", "via", GW4, "proto", "196", "table", "100")
    ip("-6", "route", "add", "2001:db8:cc::/48", "via", GW, "proto", "186", "table", "1000")
    ip("route", "add", "198.51.100.128/25", "via", GW4, "proto", "186", "table", "1000")
    expected = {
        (Route.via("2001:db8:10::/48", GW), 1024),
        (Route.via("2001:db8:10::/48", GW2), 2000),
        (Route.via("192.0.2.0/26", GW4), 0),
        (Route("2001:db8:11::/48", (NextHop("fe80::2", ifindex(k)),)), 50),
        (Route.via("2001:db8:12::/48", "::"), 1024),
        (Route.via("192.0.2.64/26", "0.0.0.0"), 0),
        (Route("2001:db8:e::/48", (NextHop(GW, weight=3), NextHop(GW2))), 1024),
        (Route("203.0.113.128/25", (NextHop(GW4), NextHop(GW2, weight=2))), 0),
        (Route.via("203.0.113.0/25", GW, table=1000), 0),
        (Route.via("2001:db8:14::/48", GW, table=1000), 77),
    }
    # Features a kernel may lack: a lightweight tunnel encap (RTA_ENCAP, skipped) and a
    # nexthop object (RTA_NH_ID, skipped; the kernel also reports its gateway).
    if try_ip(k, "-6", "route", "add", "2001:db8:13::/48", "proto", "196",
              "encap", "seg6", "mode", "encap", "segs", "2001:db8:ff::9", "via", GW):  # fmt: skip
        expected.add((Route.via("2001:db8:13::/48", GW), 1024))
    if try_ip(k, "nexthop", "add", "id", "5", "via", GW4, "dev", dev) and try_ip(
        k, "route", "add", "192.0.2.192/26", "proto", "196", "nhid", "5"
    ):
        expected.add((Route.via("192.0.2.192/26", GW4), 0))
    return expected


def shown_by_ip(k: KernelNs) -> set[tuple[int, str, int]]:
    """``(table, dst, metric)`` of every protocol-196 route ``ip -j`` shows in OURS."""
    return {
        (int(table), dst, int(metric))
        for _, table, dst, _, metric, _ in k.routes(protocol="196")
        if int(table) in OURS
    }


def reader_in(k: KernelNs, **kwargs: object) -> RouteDumpReader:
    return RouteDumpReader(socket_in_netns(k.ns.name, socket.SOCK_RAW), **kwargs)  # type: ignore[arg-type]


async def test_reader_returns_exactly_our_routes_as_pyroute2_and_ip_see_them(
    kernel_ns: KernelNs, netlink_table: NetlinkRouteTable
) -> None:
    expected = seed_mixed(kernel_ns)
    dumped = await netlink_table.dump(tables=OURS, protocol=196)
    assert set(dumped) == expected
    assert len(dumped) == len(expected)
    # Route for route, in the same order: the reader replaces the pyroute2 path exactly.
    assert dumped == await netlink_table.dump_with_pyroute2(tables=OURS, protocol=196)
    assert {(r.table, r.dst, metric) for r, metric in dumped} == shown_by_ip(kernel_ns)
    # Filtering in user space (kernels without strict checking) gives the same routes.
    with reader_in(kernel_ns, strict=False) as reader:
        assert not reader.strict
        unfiltered = reader.dump(tables=OURS, protocol=196)
    assert sorted(unfiltered, key=repr) == sorted(dumped, key=repr)
    # Another protocol number sees only its own routes.
    other = await netlink_table.dump(tables=OURS, protocol=186)
    assert {(r.table, r.dst) for r, _ in other} == {
        (1000, "2001:db8:cc::/48"),
        (1000, "198.51.100.128/25"),
    }


async def test_a_table_that_does_not_exist_holds_nothing_of_ours(
    kernel_ns: KernelNs, netlink_table: NetlinkRouteTable
) -> None:
    # Table 3000 exists for IPv6 only: its IPv4 dump and both of table 4000 end in ENOENT.
    kernel_ns.ns.ip("-6", "route", "add", "2001:db8:14::/48", "via", GW, "proto", "196",
                    "table", "3000")  # fmt: skip
    dumped = await netlink_table.dump(tables=frozenset({3000, 4000}), protocol=196)
    assert dumped == [(Route.via("2001:db8:14::/48", GW, table=3000), 1024)]
    with reader_in(kernel_ns) as reader:
        assert reader.strict
        assert reader.dump(tables={4000}, protocol=196) == []


async def test_10k_routes_span_many_datagrams_and_all_are_read(
    kernel_ns: KernelNs, netlink_table: NetlinkRouteTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = 10_000
    with tempfile.NamedTemporaryFile("w", suffix=".batch") as batch:
        for i in range(count):
            batch.write(f"route add 2001:db8:{i >> 8:x}:{i & 0xFF:x}::/64 via {GW} proto 196\n")
        for i in range(256):
            batch.write(f"route add 2001:db8:ee:{i:x}::/64 via {GW} proto static\n")
        batch.flush()
        kernel_ns.ns.ip("-batch", batch.name)
    expected = [
        (Route.via(f"2001:db8:{i >> 8:x}:{i & 0xFF:x}::/64", GW), 1024) for i in range(count)
    ]
    dumped = await netlink_table.dump(tables=OURS, protocol=196)
    assert sorted(dumped, key=repr) == sorted(expected, key=repr)
    assert dumped == await netlink_table.dump_with_pyroute2(tables=OURS, protocol=196)
    # About 1.4 MB of replies: more than one 1 MiB receive buffer, and with 16 KB reads
    # the kernel sizes its datagrams down and sends about a hundred of them.
    datagrams: list[int] = []
    feed = DumpReplies.feed

    def counting_feed(self: DumpReplies, data: bytes) -> None:
        datagrams.append(len(data))
        feed(self, data)

    monkeypatch.setattr(DumpReplies, "feed", counting_feed)
    with reader_in(kernel_ns, recv_size=16384) as reader:
        assert reader.dump(tables=OURS, protocol=196) == dumped
    assert sum(datagrams) > 1 << 20
    assert len(datagrams) > 50 and max(datagrams) <= 16384
