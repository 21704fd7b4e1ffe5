"""Self-healing WatchEvent streams against the fake gobgpd.

Covers the Resync marker at every subscription, the initial best-path table (sent by
the server when BGP is running, synthesised empty when not), resubscription after a
daemon restart and after an outage, and stream end on client close.
"""

from __future__ import annotations

import asyncio
import ipaddress
from contextlib import aclosing

from bgpctl.gobgp._proto import peer_pb2
from bgpctl.gobgp.client import GoBGPClient
from bgpctl.gobgp.types import (
    BestPathEvent,
    Global,
    Path,
    PeerEvent,
    PeerEventType,
    PeerSpec,
    Resync,
    SessionState,
)
from bgpctl.runtime.backoff import Backoff
from bgpctl.testing.gobgp import serve_fake_gobgp

from .conftest import take

FAST = Backoff(duration=0.02, factor=2.0, cap=0.2)
P1 = Path(ipaddress.ip_network("2001:db8:1::/48"), (ipaddress.ip_address("2001:db8::1"),))
P2 = Path(ipaddress.ip_network("192.0.2.0/24"), (ipaddress.ip_address("198.51.100.1"),))


def client(target: str) -> GoBGPClient:
    return GoBGPClient(target, backoff=FAST, health_interval=3600.0, attempt_timeout=1.0)


async def test_best_stream_starts_with_resync_and_full_table() -> None:
    async with serve_fake_gobgp() as fake, client(fake.target) as gobgp:
        await gobgp.start_bgp(Global(65001, "192.0.2.1"))
        await gobgp.add_path(P1)
        async with aclosing(gobgp.watch_best_paths()) as stream:
            first, dump = await take(stream, 2)
            assert first == Resync(generation=1, restarts=0)
            assert isinstance(dump, BestPathEvent) and dump.initial
            assert dump.paths == (P1,)
            await gobgp.add_path(P2)
            (update,) = await take(stream, 1)
            assert update == BestPathEvent((P2,), initial=False)


async def test_best_stream_synthesises_empty_table_when_bgp_is_not_running() -> None:
    async with (
        serve_fake_gobgp() as fake,
        client(fake.target) as gobgp,
        aclosing(gobgp.watch_best_paths()) as stream,
    ):
        items = await take(stream, 2)
        assert items == [Resync(1, 0), BestPathEvent((), initial=True)]
        await gobgp.start_bgp(Global(65001, "192.0.2.1"))
        await gobgp.add_path(P1)
        assert await take(stream, 1) == [BestPathEvent((P1,), initial=False)]


async def test_best_stream_without_init_has_no_table_event() -> None:
    async with serve_fake_gobgp() as fake, client(fake.target) as gobgp:
        await gobgp.start_bgp(Global(65001, "192.0.2.1"))
        await gobgp.add_path(P1)
        async with aclosing(gobgp.watch_best_paths(init=False)) as stream:
            assert await take(stream, 1) == [Resync(1, 0)]
            await gobgp.add_path(P2)
            assert await take(stream, 1) == [BestPathEvent((P2,), initial=False)]


async def test_best_stream_resubscribes_after_restart() -> None:
    async with serve_fake_gobgp() as fake, client(fake.target) as gobgp:
        await gobgp.start_bgp(Global(65001, "192.0.2.1"))
        await gobgp.add_path(P1)
        async with aclosing(gobgp.watch_best_paths()) as stream:
            await take(stream, 2)
            await fake.restart()  # state lost, BGP not running any more
            resync, table = await take(stream, 2)
            assert isinstance(resync, Resync) and resync.restarts == 1
            assert resync.generation >= 1
            assert table == BestPathEvent((), initial=True)


async def test_peer_stream_replays_then_follows_state() -> None:
    neighbor = ipaddress.ip_address("2001:db8:ab::2")
    async with serve_fake_gobgp() as fake, client(fake.target) as gobgp:
        await gobgp.start_bgp(Global(65001, "192.0.2.1"))
        await gobgp.add_peer(PeerSpec(neighbor, 65002))
        async with aclosing(gobgp.watch_peers()) as stream:
            resync, init, end = await take(stream, 3)
            assert resync == Resync(1, 0)
            assert isinstance(init, PeerEvent) and init.type is PeerEventType.INIT
            assert init.peer is not None and init.peer.neighbor_address == neighbor
            assert end == PeerEvent(PeerEventType.END_OF_INIT, None)
            fake.servicer.set_peer_state(str(neighbor), peer_pb2.PeerState.ESTABLISHED)
            (state,) = await take(stream, 1)
            assert isinstance(state, PeerEvent) and state.peer is not None
            assert state.peer.session_state is SessionState.ESTABLISHED


async def test_peer_stream_survives_an_outage() -> None:
    async with (
        serve_fake_gobgp() as fake,
        client(fake.target) as gobgp,
        aclosing(gobgp.watch_peers()) as stream,
    ):
        assert await take(stream, 2) == [Resync(1, 0), PeerEvent(PeerEventType.END_OF_INIT, None)]
        await fake.stop()
        await asyncio.sleep(0.3)
        await fake.start()
        resync, end = await take(stream, 2)
        assert isinstance(resync, Resync) and resync.restarts == 1
        assert end == PeerEvent(PeerEventType.END_OF_INIT, None)


async def test_streams_end_when_the_client_closes() -> None:
    async with serve_fake_gobgp() as fake:
        gobgp = client(fake.target)
        await gobgp.connect()
        stream = gobgp.watch_peers()
        await take(stream, 2)
        await gobgp.close()
        async with asyncio.timeout(5):
            rest = [item async for item in stream]
        assert rest == []
