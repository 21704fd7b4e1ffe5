"""Route sync benchmarks: kernel stage vs ``ip -batch``, end to end vs no kernel writes, RSS.

Run as root from the repository root: ``.venv/bin/python benchmarks/bench_routesync.py``
(about 4 minutes on an idle 2-core box). Prints one table; every ratio is measured within one run.

1. Kernel stage, per family: 100k routes added, then deleted, by ``ip -batch`` and by
   the engine (RouteSyncer.replace -> wait_idle over NetlinkRouteTable), in a namespace
   of our own. IPv6 uses 2001:db8::/32; IPv4 needs 100k distinct prefixes, more than the
   documentation ranges hold, so it uses 198.18.0.0/15 (RFC 2544, reserved for
   benchmarking) inside the private namespace. Routes are built before the clock starts,
   as ``ip``'s batch file is written before its clock starts.
2. Restart adoption: the engine's start-up read of 100k routes of ours, once through
   pyroute2 (the old path, kept as the reference) and once through the struct-packed
   reader (bgpctl.routesync.rtnl_dump, what the engine uses), from the same kernel table.
3. End to end: 100k IPv6 prefixes injected into gobgpd A (by a separate process, like a
   real peer) until B's engine has all of them in B's kernel, and until all are gone
   after the withdrawal; the same pipeline with kernel writes switched off is the
   reference ("we are never the bottleneck" means ratio >= 0.9). Two passes per mode,
   in ABBA order, averaged.
4. Resident memory of this process (engine, gRPC, decoder) holding 100k routes.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for tests.routesync.gobgp_pair

from bgpctl.routesync import Route, RouteSyncer, RouteSyncOptions  # noqa: E402
from bgpctl.routesync.errors import RouteSyncError  # noqa: E402
from bgpctl.routesync.netlink import NetlinkRouteTable  # noqa: E402
from bgpctl.routesync.types import NextHop, Op  # noqa: E402
from bgpctl.testing.netns import Lab, Netns, rss_bytes  # noqa: E402

N = 100_000
GW6, GW4 = "2001:db8:ff::2", "198.51.100.2"
rows: list[tuple[str, str, str]] = []
reported: set[str] = set()


def report(name: str, value: str, note: str = "") -> None:
    rows.append((name, value, note))
    print(f"  {name:<46} {value:>14}  {note}", flush=True)


def v6_routes() -> list[Route]:
    nexthops = (NextHop(GW6),)
    return [Route(f"2001:db8:{i >> 16:x}:{i & 0xFFFF:x}::/64", nexthops) for i in range(N)]


def v4_routes() -> list[Route]:
    nexthops = (NextHop(GW4),)
    base = int(ipaddress.IPv4Address("198.18.0.0"))
    return [Route(f"{ipaddress.IPv4Address(base + i)}/32", nexthops) for i in range(N)]


def ip_batch(ns: Netns, routes: Sequence[Route], verb: str) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".batch") as batch:
        for route in routes:
            via = f" via {route.nexthops[0].gateway}" if verb == "add" else ""
            batch.write(f"route {verb} {route.dst}{via} proto 196\n")
        batch.flush()
        started = time.perf_counter()
        subprocess.run(["ip", "-n", ns.name, "-batch", batch.name], check=True)
        return time.perf_counter() - started


async def engine_pass(table: NetlinkRouteTable, routes: list[Route]) -> tuple[float, float]:
    async with RouteSyncer(table) as engine:
        engine.replace([])
        await engine.wait_idle()
        started = time.perf_counter()
        engine.replace(routes)
        await engine.wait_idle()
        added = time.perf_counter() - started
        assert engine.status().installed == len(routes), engine.status().failed
        started = time.perf_counter()
        engine.replace([])
        await engine.wait_idle()
        deleted = time.perf_counter() - started
        assert engine.status().installed == 0
    return added, deleted


def count(ns: Netns, family: str) -> int:
    out = ns.ip(family, "route", "show", "proto", "196").stdout
    return sum(1 for line in out.splitlines() if line and not line[0].isspace())


async def kernel_stage(lab: Lab) -> None:
    print("kernel stage (100k routes per family)", flush=True)
    ns = lab.netns("rs-bench")
    lab.veth(ns, ns, a_addrs=["2001:db8:ff::1/64", "198.51.100.1/24"])
    table = NetlinkRouteTable(protocol=196, netns=ns.name)
    async with table:
        for family, build in (("-6", v6_routes), ("-4", v4_routes)):
            started = time.perf_counter()
            routes = build()
            built = time.perf_counter() - started
            ip_add = ip_batch(ns, routes, "add")
            assert count(ns, family) == N
            ip_del = ip_batch(ns, routes, "del")
            ours_add, ours_del = await engine_pass(table, routes)
            name = "IPv6" if family == "-6" else "IPv4"
            report(f"{name} add: ip -batch", f"{N / ip_add:,.0f}/s", f"{ip_add:.2f} s")
            report(f"{name} add: engine", f"{N / ours_add:,.0f}/s", f"{ours_add:.2f} s")
            report(f"{name} add ratio (target >= 0.6)", f"{ip_add / ours_add:.2f}x")
            report(f"{name} delete: ip -batch", f"{N / ip_del:,.0f}/s", f"{ip_del:.2f} s")
            report(f"{name} delete: engine", f"{N / ours_del:,.0f}/s", f"{ours_del:.2f} s")
            report(f"{name} delete ratio (target >= 0.6)", f"{ip_del / ours_del:.2f}x")
            report(f"{name} Route objects built", f"{N / built:,.0f}/s", "(not in the timings)")
        routes = v6_routes()
        async with RouteSyncer(table) as engine:
            engine.replace(routes)
            await engine.wait_idle()
        # The rtnl_dump read (the engine's) goes first, so that the RSS figure is not inflated by
        # memory pyroute2 freed but the allocator kept.
        adopt: dict[str, float] = {}
        rss = 0.0
        for label, source in (("rtnl_dump", table), ("pyroute2", Pyroute2DumpTable(table))):
            started = time.perf_counter()
            engine = RouteSyncer(source)
            await engine.start()  # adopts the 100k routes: one dump
            adopt[label] = time.perf_counter() - started
            assert engine.status().installed == N, engine.status()
            if label == "rtnl_dump":
                rss = rss_bytes() / 2**20
                await engine.stop()  # routes stay; the next engine adopts them again
        for label, name in (
            ("pyroute2", "restart: adopt 100k routes (pyroute2 dump)"),
            ("rtnl_dump", "restart: adopt 100k routes (rtnl_dump)"),
        ):
            seconds = adopt[label]
            report(name, f"{seconds:.1f} s", f"{N / seconds:,.0f}/s")
        report("restart adoption speed-up", f"{adopt['pyroute2'] / adopt['rtnl_dump']:.0f}x")
        report("RSS with 100k routes (kernel stage)", f"{rss:.0f} MB", "target <= 200 MB")
        engine.replace([])
        await engine.wait_idle()
        await engine.stop()
        del routes


class Pyroute2DumpTable:
    """The kernel table with the start-up dump decoded by pyroute2 (the path before rtnl_dump)."""

    def __init__(self, table: NetlinkRouteTable) -> None:
        self._table = table

    async def dump(self, *, tables: frozenset[int], protocol: int) -> list[tuple[Route, int]]:
        return await self._table.dump_with_pyroute2(tables=tables, protocol=protocol)

    async def local_addresses(self) -> frozenset[str]:
        return await self._table.local_addresses()

    async def write(self, ops: Sequence[Op]) -> dict[int, RouteSyncError]:
        return await self._table.write(ops)


class NullRouteTable:
    """Kernel writes switched off: every write succeeds at once."""

    async def dump(self, *, tables: frozenset[int], protocol: int) -> list[tuple[Route, int]]:
        return []

    async def local_addresses(self) -> frozenset[str]:
        return frozenset()

    async def write(self, ops: Sequence[Op]) -> dict[int, RouteSyncError]:
        return {}


async def inject(target: str, withdraw: bool) -> float:
    argv = [sys.executable, __file__, "--inject", target, str(N)] + (
        ["--withdraw"] if withdraw else []
    )
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(*argv)
    if await process.wait():
        raise RuntimeError("injector failed")
    return time.perf_counter() - started


async def e2e_pass(pair, table, label: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    from tests.routesync.gobgp_pair import consume_best_paths

    async with RouteSyncer(table, options=RouteSyncOptions()) as engine:
        consumer = asyncio.create_task(consume_best_paths(pair.b_conn, engine))
        try:
            await asyncio.sleep(0.5)  # subscribed, initial (empty) table received
            times = []
            for withdraw, expected in ((False, N), (True, 0)):
                started = time.perf_counter()
                injector = asyncio.create_task(inject(pair.a_target, withdraw))
                # Engine state is polled, as a dashboard would: no hook in the hot path.
                while engine.status().installed != expected or engine.status().pending:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
                times.append(time.perf_counter() - started)
                await injector
                if not withdraw and label not in reported:
                    reported.add(label)
                    report(f"RSS with 100k routes (e2e, {label})", f"{rss_bytes() / 2**20:.0f} MB")
            return times[0], times[1]
        finally:
            consumer.cancel()
            await asyncio.gather(consumer, return_exceptions=True)


async def end_to_end(lab: Lab) -> None:
    from tests.routesync.gobgp_pair import gobgp_pair

    print("end to end (100k IPv6 prefixes, A -> iBGP -> B -> kernel)", flush=True)
    async with gobgp_pair(lab) as pair:
        table = NetlinkRouteTable(protocol=196, netns=pair.ns_b.name)
        async with table:
            # ABBA order: the box is shared, and a linear drift of its load then
            # weighs on both modes equally.
            passes: dict[str, list[tuple[float, float]]] = {"off": [], "on": []}
            for mode in ("off", "on", "on", "off"):
                target = NullRouteTable() if mode == "off" else table
                label = "writes off" if mode == "off" else "kernel"
                passes[mode].append(await e2e_pass(pair, target, label))
            assert count(pair.ns_b, "-6") == 0
    off_add = sum(p[0] for p in passes["off"]) / 2
    off_del = sum(p[1] for p in passes["off"]) / 2
    on_add = sum(p[0] for p in passes["on"]) / 2
    on_del = sum(p[1] for p in passes["on"]) / 2
    report("e2e add, kernel writes off (mean of 2)", f"{N / off_add:,.0f}/s", f"{off_add:.1f} s")
    report("e2e add, kernel writes on (mean of 2)", f"{N / on_add:,.0f}/s", f"{on_add:.1f} s")
    report("e2e add ratio (target >= 0.9)", f"{off_add / on_add:.2f}x")
    report(
        "e2e withdraw, kernel writes off (mean of 2)", f"{N / off_del:,.0f}/s", f"{off_del:.1f} s"
    )
    report("e2e withdraw, kernel writes on (mean of 2)", f"{N / on_del:,.0f}/s", f"{on_del:.1f} s")
    report("e2e withdraw ratio (target >= 0.9)", f"{off_del / on_del:.2f}x")


async def injector_main(target: str, count: int, withdraw: bool) -> None:
    from bgpctl.gobgp.client import GoBGPClient
    from tests.routesync.gobgp_pair import v6_paths

    async with GoBGPClient(target, list_timeout=600) as client:
        await client.add_paths(v6_paths(count, withdraw=withdraw), chunk_size=1000)


async def main() -> None:
    started = time.perf_counter()
    report("RSS at start", f"{rss_bytes() / 2**20:.0f} MB")
    with Lab() as lab:
        await kernel_stage(lab)
    with Lab() as lab:
        await end_to_end(lab)
    print(f"\ntotal {time.perf_counter() - started:.0f} s\n")
    print(f"| {'measure':<46} | {'value':>14} | note |\n|---|---:|---|")
    for name, value, note in rows:
        print(f"| {name:<46} | {value:>14} | {note} |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--inject":
        asyncio.run(injector_main(sys.argv[2], int(sys.argv[3]), "--withdraw" in sys.argv))
    else:
        if os.geteuid() != 0:
            sys.exit("needs root (network namespaces)")
        asyncio.run(main())
