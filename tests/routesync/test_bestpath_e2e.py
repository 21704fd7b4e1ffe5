"""End to end: prefixes injected on gobgpd A appear in B's kernel table and vanish on withdraw.

Two real gobgpd daemons in namespaces of their own, iBGP over a veth; B's best-path stream
feeds BestPathDecoder -> RouteSyncer -> NetlinkRouteTable in B's namespace.
Throughput is measured in benchmarks/bench_routesync.py.
"""

import asyncio

import pytest

from bgpctl.routesync import RouteSyncer
from bgpctl.routesync.netlink import NetlinkRouteTable
from bgpctl.testing.netns import Lab, Netns

from .gobgp_pair import consume_best_paths, count_routes, gobgp_pair, v4_paths, v6_paths

pytestmark = pytest.mark.root


async def wait_for_count(ns: Netns, expected: int) -> None:
    async with asyncio.timeout(30.0):
        # The kernel table is external state: poll it.
        while (await asyncio.to_thread(count_routes, ns)) != expected:  # noqa: ASYNC110
            await asyncio.sleep(0.1)


async def test_injected_prefixes_reach_the_peer_kernel_and_vanish_on_withdraw() -> None:
    with Lab() as lab:
        async with gobgp_pair(lab) as pair:
            ns_b = pair.ns_b
            ns_b.ip(
                "-6", "route", "add", "2001:db8:cc::/48", "via", "2001:db8:ab::1", "proto", "static"
            )
            table = NetlinkRouteTable(protocol=196, netns=ns_b.name)
            async with table, RouteSyncer(table) as engine:
                consumer = asyncio.create_task(consume_best_paths(pair.b_conn, engine))
                try:
                    await pair.a.add_paths(v6_paths(300))
                    await pair.a.add_paths(v4_paths(20))
                    await wait_for_count(ns_b, 320)
                    shown = ns_b.ip("-6", "route", "show", "proto", "196").stdout
                    assert "2001:db8:8000:12b::/64 via 2001:db8:ab::1" in shown
                    assert (
                        "203.0.113.7 via 198.51.100.1"
                        in ns_b.ip("route", "show", "proto", "196").stdout
                    )

                    await pair.a.add_paths(v6_paths(300, withdraw=True))
                    await pair.a.add_paths(v4_paths(20, withdraw=True))
                    await wait_for_count(ns_b, 0)
                    assert engine.status().installed == 0
                finally:
                    consumer.cancel()
                    await asyncio.gather(consumer, return_exceptions=True)
            assert count_routes(ns_b, "static") == 1  # the foreign route is untouched
