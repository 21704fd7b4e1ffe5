"""GoBGP client throughput: bulk injection, best-path dump and stream decode.

Starts one gobgpd (no peers) in a ``bgpt-`` network namespace via ``bgpctl.testing.netns``
and measures, for N IPv6 /64 paths (default 100k):

1. conversion only: ``Path`` -> protobuf (``path_to_pb``) and back (``path_from_pb``);
2. bulk injection: ``GoBGPClient.add_paths`` (AddPathStream, chunks of 1000), including
   the conversion, until gobgpd's table holds all N;
3. initial dump: the whole table as one message, received with the bare stub and
   decoded separately, then once more through ``watch_best_paths(init=True)``;
4. streamed changes: the same stream while all N are withdrawn with AddPathStream (one
   best-path event per path in GoBGP), until the last withdrawal is decoded.

Baselines (lab-notes.md §5, same machine class): AddPathStream chunk 1000 42.4k paths/s
(pre-built messages), init dump 2.81 s receive + 2.35 s decode, targeted decode 113k/s.

Usage (root): python benchmarks/bench_gobgp.py [--paths N] [--gobgpd PATH | --version V]
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import time
from contextlib import aclosing
from pathlib import Path as FsPath

from bgpctl.gobgp._proto import service_pb2
from bgpctl.gobgp.client import GoBGPClient
from bgpctl.gobgp.connection import Connection
from bgpctl.gobgp.convert import path_from_pb, path_to_pb, paths_from_pb
from bgpctl.gobgp.types import IPV6_UNICAST, BestPathEvent, Global, Path, Resync
from bgpctl.testing.gobgp_build import build_gobgp
from bgpctl.testing.netns import DEFAULT_GOBGPD, Lab

NEXT_HOP = (ipaddress.ip_address("2001:db8:ab::1"),)
COMMUNITIES = ((65001, 100), (65001, 300))


def make_paths(n: int) -> list[Path]:
    base = int(ipaddress.ip_address("2001:db8:8000::"))
    return [
        Path(
            ipaddress.IPv6Network((base + (i << 64), 64)),
            NEXT_HOP,
            local_pref=200,
            communities=COMMUNITIES,
        )
        for i in range(n)
    ]


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>10,.0f} paths/s  ({seconds:6.2f} s for {count:,})"


def bench_conversion(paths: list[Path]) -> None:
    started = time.perf_counter()
    messages = [path_to_pb(p) for p in paths]
    encoded = time.perf_counter()
    for m in messages:
        path_from_pb(m)
    decoded = time.perf_counter()
    print(f"encode Path->pb (path_to_pb)       {rate(len(paths), encoded - started)}")
    print(f"decode pb->Path (path_from_pb)     {rate(len(paths), decoded - encoded)}")


async def bench_daemon(target: str, paths: list[Path]) -> None:
    n = len(paths)
    async with GoBGPClient(target, list_timeout=600.0) as gobgp:
        await gobgp.start_bgp(Global(65001, "192.0.2.1", listen_port=-1))

        started = time.perf_counter()
        await gobgp.add_paths(paths, chunk_size=1000)
        sent = time.perf_counter()
        for _ in range(100_000):
            if (await gobgp.get_table(IPV6_UNICAST)).paths >= n:
                break
            await asyncio.sleep(0.01)
        stored = time.perf_counter()
        print(f"inject AddPathStream (incl. encode) {rate(n, sent - started)}")
        print(f"  ... until gobgpd's table holds N  {rate(n, stored - started)}")

        await bench_raw_dump(target, n)

        async with aclosing(gobgp.watch_best_paths()) as stream:
            started = time.perf_counter()
            assert isinstance(await anext(stream), Resync)
            dump = await anext(stream)
            dumped = time.perf_counter()
            assert isinstance(dump, BestPathEvent) and dump.initial and len(dump.paths) == n
            print(f"client stream: dump recv+decode    {rate(n, dumped - started)}")

            injector = asyncio.create_task(gobgp.add_paths(p.withdrawal() for p in paths))
            started = time.perf_counter()
            seen = 0
            async for item in stream:
                if isinstance(item, BestPathEvent):
                    seen += sum(1 for p in item.paths if p.is_withdraw)
                    if seen >= n:
                        break
            streamed = time.perf_counter()
            await injector
            print(f"streamed withdrawals (1 per event) {rate(n, streamed - started)}")


async def bench_raw_dump(target: str, n: int) -> None:
    """Receive the init dump with the bare stub, then decode it: the two costs apart."""
    conn = Connection(target)
    await conn.open()
    try:
        request = service_pb2.WatchEventRequest(
            table=service_pb2.WatchEventRequest.Table(
                filters=[service_pb2.WatchEventRequest.Table.Filter(init=True)]
            )
        )
        call = conn.stub.WatchEvent(request)
        started = time.perf_counter()
        response = await call.read()
        received = time.perf_counter()
        call.cancel()
        assert isinstance(response, service_pb2.WatchEventResponse)
        paths = paths_from_pb(response.table.paths)
        decoded = time.perf_counter()
        assert len(paths) == n
        size = response.ByteSize() / 2**20
        print(f"initial dump receive ({size:.1f} MiB)   {rate(n, received - started)}")
        print(f"initial dump decode (paths_from_pb) {rate(n, decoded - received)}")
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=100_000)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--gobgpd", type=FsPath, default=DEFAULT_GOBGPD)
    group.add_argument("--version", help="GoBGP module version to build and use, e.g. v3.37.0")
    args = parser.parse_args()
    binary = build_gobgp(args.version).gobgpd if args.version else args.gobgpd

    paths = make_paths(args.paths)
    print(f"GoBGP {binary} , {args.paths:,} IPv6 /64 paths (2 communities, local-pref)")
    bench_conversion(paths)
    with Lab() as lab:
        daemon = lab.gobgpd(lab.netns("bench"), binary=binary, log_level="warn")
        asyncio.run(bench_daemon(daemon.target, paths))
        rss = daemon.rss_bytes()
        print(f"gobgpd RSS after the run: {rss / 2**20:.0f} MiB" if rss else "")


if __name__ == "__main__":
    main()
