"""Two gobgpd daemons in namespaces A and B, iBGP over a veth, and B's FIB consumer.

Shared by test_bestpath_e2e.py and benchmarks/bench_routesync.py. A is driven with the
typed ``GoBGPClient``; B's best-path stream is read raw (``Connection.stub.WatchEvent``)
and decoded by ``BestPathDecoder``, the path the node agent takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

from bgpctl.controllers.fibsync import BestPathDecoder
from bgpctl.gobgp._proto import service_pb2
from bgpctl.gobgp.client import GoBGPClient
from bgpctl.gobgp.connection import Connection
from bgpctl.gobgp.types import IPV4_UNICAST, IPV6_UNICAST, Global, Path, PeerSpec
from bgpctl.routesync import Route, RouteSyncer
from bgpctl.testing.netns import Lab, Netns

A6, B6 = "2001:db8:ab::1", "2001:db8:ab::2"
A4, B4 = "198.51.100.1", "198.51.100.2"
PORT = 1790
_Filter = service_pb2.WatchEventRequest.Table.Filter


@dataclass
class Pair:
    """A's client and API target, B's namespace and raw connection."""

    a: GoBGPClient
    a_target: str
    b: GoBGPClient
    b_conn: Connection
    ns_b: Netns


@contextlib.asynccontextmanager
async def gobgp_pair(lab: Lab, *, established_timeout: float = 40.0) -> AsyncIterator[Pair]:
    """Start both daemons, peer them (IPv6 session, IPv4+IPv6 unicast), wait for Established."""
    ns_a, ns_b = lab.netns("rs-a"), lab.netns("rs-b")
    lab.veth(ns_a, ns_b, a_addrs=[f"{A6}/64", f"{A4}/24"], b_addrs=[f"{B6}/64", f"{B4}/24"])
    daemons = await asyncio.gather(
        asyncio.to_thread(lab.gobgpd, ns_a), asyncio.to_thread(lab.gobgpd, ns_b)
    )
    async with (
        GoBGPClient(daemons[0].target, list_timeout=600) as a,
        GoBGPClient(daemons[1].target) as b,
    ):
        b_conn = Connection(daemons[1].target)
        await b_conn.open()
        try:
            await a.start_bgp(Global(asn=65001, router_id=A4, listen_port=PORT))
            await b.start_bgp(Global(asn=65001, router_id=B4, listen_port=PORT))
            families = (IPV6_UNICAST, IPV4_UNICAST)
            for client, neighbor in ((a, B6), (b, A6)):
                await client.add_peer(
                    PeerSpec(
                        neighbor_address=ipaddress.ip_address(neighbor),
                        peer_asn=65001,
                        families=families,
                        remote_port=PORT,
                    )
                )
            async with asyncio.timeout(established_timeout):
                while True:
                    peer = await a.get_peer(ipaddress.ip_address(B6))
                    if peer is not None and peer.state.session_state.name == "ESTABLISHED":
                        break
                    await asyncio.sleep(0.2)
            yield Pair(a, daemons[0].target, b, b_conn, ns_b)
        finally:
            await b_conn.close()


def v6_paths(count: int, *, withdraw: bool = False) -> Iterator[Path]:
    """``count`` IPv6 /64s in 2001:db8:8000::/33 via A, built lazily (memory stays flat)."""
    next_hops = (ipaddress.ip_address(A6),)
    for i in range(count):
        prefix = ipaddress.IPv6Network(f"2001:db8:{0x8000 + (i >> 16):x}:{i & 0xFFFF:x}::/64")
        yield Path(prefix=prefix, next_hops=next_hops, is_withdraw=withdraw)


def v4_paths(count: int, *, withdraw: bool = False) -> Iterator[Path]:
    """Up to 256 IPv4 /32s in 203.0.113.0/24 via A."""
    next_hops = (ipaddress.ip_address(A4),)
    for i in range(count):
        prefix = ipaddress.IPv4Network(f"203.0.113.{i}/32")
        yield Path(prefix=prefix, next_hops=next_hops, is_withdraw=withdraw)


async def consume_best_paths(
    conn: Connection,
    engine: RouteSyncer,
    *,
    decoder: BestPathDecoder | None = None,
    on_event: Callable[[], None] | None = None,
) -> None:
    """B's FIB pipeline: WatchEvent(BEST, init) -> decoder -> engine, until cancelled.

    The first table event is the full table (init): it becomes ``replace``; every later
    one is a change set. Runs until cancelled.
    """
    decoder = decoder or BestPathDecoder()
    request = service_pb2.WatchEventRequest(
        table=service_pb2.WatchEventRequest.Table(filters=[_Filter(type=_Filter.BEST, init=True)])
    )
    initial = True
    async for event in conn.stub.WatchEvent(request):
        if not event.HasField("table"):
            continue
        changes = decoder.event_changes(event)
        if initial:
            engine.replace(c for c in changes if isinstance(c, Route))
            initial = False
        else:
            engine.apply(changes)
        if on_event is not None:
            on_event()


def count_routes(ns: Netns, protocol: str = "196") -> int:
    """Routes of ``protocol`` in B's main table, both families."""
    total = 0
    for family in ("-4", "-6"):
        out = ns.ip(family, "route", "show", "proto", protocol).stdout
        total += sum(1 for line in out.splitlines() if line and not line[0].isspace())
    return total
