"""Two real gobgpd peering over a veth: sessions, paths, withdrawals, bulk injection.

Runs once per GoBGP build (Debian 3.10 and v3.37). The session is iBGP on port 1790 on
both sides; GoBGP's first active connect waits a hard-coded 5-10 s, so the module
establishes it once and later tests reuse it (``established`` re-creates it if needed).
Covers what B reads back from its best-path stream, not kernel programming.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest

from bgpctl.gobgp.client import GoBGPClient
from bgpctl.gobgp.types import (
    IPV4_UNICAST,
    IPV6_UNICAST,
    AsSegment,
    BestPathEvent,
    Global,
    Origin,
    Path,
    PeerEvent,
    PeerEventType,
    PeerSpec,
    Resync,
    SessionState,
)

from .conftest import LISTEN_PORT, DaemonPair, eventually

pytestmark = pytest.mark.root

ESTABLISH_TIMEOUT = 30.0
ASN = 65001


def spec(neighbor: str, local: str) -> PeerSpec:
    return PeerSpec(
        neighbor_address=ipaddress.ip_address(neighbor),
        peer_asn=ASN,
        local_address=ipaddress.ip_address(local),
        remote_port=LISTEN_PORT,
        connect_retry=5,
        hold_time=9,
        keepalive_interval=3,
        families=(IPV6_UNICAST, IPV4_UNICAST),
    )


async def configure(pair: DaemonPair, a: GoBGPClient, b: GoBGPClient) -> None:
    for client, me, other, rid in ((a, pair.a6, pair.b6, pair.a4), (b, pair.b6, pair.a6, pair.b4)):
        if not (await client.get_bgp()).started:
            await client.start_bgp(Global(ASN, rid, listen_port=LISTEN_PORT))
        if await client.get_peer(ipaddress.ip_address(other)) is None:
            await client.add_peer(spec(other, me))


async def wait_established(client: GoBGPClient, neighbor: str) -> None:
    async def up() -> bool:
        peer = await client.get_peer(ipaddress.ip_address(neighbor))
        return peer is not None and peer.state.established

    await eventually(up, within=ESTABLISH_TIMEOUT)


@pytest.fixture
async def established(
    daemon_pair: DaemonPair, pair_clients: tuple[GoBGPClient, GoBGPClient]
) -> tuple[GoBGPClient, GoBGPClient]:
    a, b = pair_clients
    await configure(daemon_pair, a, b)
    await wait_established(a, daemon_pair.b6)
    await wait_established(b, daemon_pair.a6)
    return a, b


async def subscribed(stream: AsyncIterator[object]) -> BestPathEvent:
    """Consume the Resync and the initial table (the subscription is live afterwards)."""
    assert isinstance(await anext(stream), Resync)
    initial = await anext(stream)
    assert isinstance(initial, BestPathEvent) and initial.initial
    return initial


async def next_for(
    stream: AsyncIterator[object],
    prefix: ipaddress.IPv4Network | ipaddress.IPv6Network,
    *,
    withdraw: bool,
) -> Path:
    async with asyncio.timeout(10):
        async for item in stream:
            if isinstance(item, BestPathEvent) and not item.initial:
                for path in item.paths:
                    if path.prefix == prefix and path.is_withdraw == withdraw:
                        return path
    raise AssertionError("stream ended")


async def test_peers_reach_established_on_the_peer_stream(
    daemon_pair: DaemonPair, pair_clients: tuple[GoBGPClient, GoBGPClient]
) -> None:
    a, b = pair_clients
    for client in (a, b):
        if (await client.get_bgp()).started:
            await client.stop_bgp()  # drops any session left by an earlier test
    async with aclosing(a.watch_peers()) as events:
        assert isinstance(await anext(events), Resync)
        assert await anext(events) == PeerEvent(PeerEventType.END_OF_INIT, None)
        await configure(daemon_pair, a, b)
        states = []
        async with asyncio.timeout(ESTABLISH_TIMEOUT):
            async for event in events:
                assert isinstance(event, PeerEvent) and event.peer is not None
                assert str(event.peer.neighbor_address) == daemon_pair.b6
                states.append(event.peer.session_state)
                if event.peer.established:
                    assert event.peer.router_id == daemon_pair.b4
                    break
    assert states[-1] is SessionState.ESTABLISHED
    assert SessionState.OPENCONFIRM in states
    (peer,) = await a.list_peers()
    assert peer.state.established
    assert {c.family for c in peer.state.families} == {IPV6_UNICAST, IPV4_UNICAST}
    assert peer.spec.remote_port == LISTEN_PORT


FULL_V6 = Path(
    prefix=ipaddress.ip_network("2001:db8:1000::/48"),
    next_hops=(ipaddress.ip_address("2001:db8:ab::1"),),
    origin=Origin.EGP,
    as_path=(AsSegment((65010, 65020)),),
    med=50,
    local_pref=200,
    communities=((65001, 100), (65001, 200)),
    large_communities=((65001, 7, 8),),
)
FULL_V4 = Path(
    prefix=ipaddress.ip_network("203.0.113.0/24"),
    next_hops=(ipaddress.ip_address("198.51.100.1"),),
    origin=Origin.INCOMPLETE,
    as_path=(AsSegment((65030,)),),
    med=7,
    local_pref=150,
    communities=((65001, 300),),
    large_communities=((4200000001, 1, 2),),
)


@pytest.mark.parametrize("path", [FULL_V6, FULL_V4], ids=["v6", "v4"])
async def test_path_with_every_attribute_arrives_identical(
    daemon_pair: DaemonPair, established: tuple[GoBGPClient, GoBGPClient], path: Path
) -> None:
    a, b = established
    async with aclosing(b.watch_best_paths()) as stream:
        await subscribed(stream)
        await a.add_path(path)
        received = await next_for(stream, path.prefix, withdraw=False)
    assert received == path  # prefix, next hop, origin, AS path, MED, LP, communities
    assert received.neighbor == ipaddress.ip_address(daemon_pair.a6)
    assert received.source_asn == ASN and not received.is_local
    (listed,) = await b.list_paths(path.family, prefixes=[path.prefix])
    assert listed == path and listed.best
    await a.withdraw_path(path)


async def test_withdraw_reaches_the_peer(
    established: tuple[GoBGPClient, GoBGPClient],
) -> None:
    a, b = established
    path = Path(
        ipaddress.ip_network("2001:db8:2000::/48"), (ipaddress.ip_address("2001:db8:ab::1"),)
    )
    async with aclosing(b.watch_best_paths()) as stream:
        await subscribed(stream)
        await a.add_path(path)
        await next_for(stream, path.prefix, withdraw=False)
        await a.withdraw_path(path)
        gone = await next_for(stream, path.prefix, withdraw=True)
    assert gone.prefix == path.prefix and gone.is_withdraw
    assert await b.list_paths(IPV6_UNICAST, prefixes=[path.prefix]) == []
    assert await a.list_paths(IPV6_UNICAST, prefixes=[path.prefix]) == []


async def test_bulk_injection_and_bulk_withdraw_reach_the_peer(
    established: tuple[GoBGPClient, GoBGPClient],
) -> None:
    a, b = established
    base = int(ipaddress.ip_address("2001:db8:8000::"))
    hop = (ipaddress.ip_address("2001:db8:ab::1"),)
    paths = [
        Path(ipaddress.IPv6Network((base + (i << 64), 64)), hop, local_pref=200)
        for i in range(1000)
    ]
    before = (await b.get_table(IPV6_UNICAST)).paths
    assert await a.add_paths(paths, chunk_size=250) == 1000
    assert (await a.get_table(IPV6_UNICAST)).paths >= 1000
    await eventually(lambda: table_size(b, before + 1000), within=30)
    await a.add_paths(p.withdrawal() for p in paths)
    await eventually(lambda: table_size(b, before), within=30)


async def table_size(client: GoBGPClient, expected: int) -> bool:
    return (await client.get_table(IPV6_UNICAST)).paths == expected
