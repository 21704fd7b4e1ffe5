"""Connection generations and stream resync against a real gobgpd that is killed.

Runs once per GoBGP build. Health pings are set to an hour where the point is that
only the sentinel stream can notice: a gobgpd restarted between two pings answers the
next ping as if nothing happened (the Go original missed exactly that).
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import pytest

from bgpctl.gobgp.errors import GoBGPUnavailable
from bgpctl.gobgp.types import BestPathEvent, Global, PeerEvent, PeerEventType, Resync
from bgpctl.testing.netns import GoBGPD

from .conftest import LISTEN_PORT, make_client, take

pytestmark = pytest.mark.root

NO_PINGS = 3600.0


async def test_kill9_and_restart_changes_generation_within_3s(daemon: GoBGPD) -> None:
    async with make_client(daemon.target, health_interval=NO_PINGS) as gobgp:
        before = gobgp.generation
        loop = asyncio.get_running_loop()
        started = loop.time()
        daemon.kill()
        await asyncio.wait_for(gobgp.wait_disconnected(), 3)  # the sentinel breaks at once
        await asyncio.to_thread(daemon.start)
        after = await asyncio.wait_for(gobgp.wait_generation_change(before), 3)
        assert after == before + 1
        assert loop.time() - started < 3.0
        assert not (await gobgp.get_bgp()).started


async def test_restart_between_health_checks_is_detected(daemon: GoBGPD) -> None:
    async with make_client(daemon.target, health_interval=NO_PINGS) as gobgp:
        await gobgp.start_bgp(Global(65001, "192.0.2.1", listen_port=LISTEN_PORT))
        before = gobgp.generation
        await asyncio.to_thread(daemon.restart)  # kill -9 + start, no ping in between
        assert await asyncio.wait_for(gobgp.wait_generation_change(before), 3) > before
        # The new daemon answers pings happily but has lost its configuration.
        assert not (await gobgp.get_bgp()).started


async def test_outage_fails_calls_fast_and_recovery_changes_generation(daemon: GoBGPD) -> None:
    async with make_client(daemon.target, health_interval=0.5) as gobgp:
        before = gobgp.generation
        daemon.kill()
        await asyncio.sleep(1.5)  # several reconnect attempts fail meanwhile
        assert not gobgp.connected and gobgp.generation == before
        with pytest.raises(GoBGPUnavailable):
            await asyncio.wait_for(gobgp.get_bgp(), 3)
        await asyncio.to_thread(daemon.start)
        assert await asyncio.wait_for(gobgp.wait_generation_change(before), 3) == before + 1


async def test_streams_resync_after_restart(daemon: GoBGPD) -> None:
    async with make_client(daemon.target, health_interval=NO_PINGS) as gobgp:
        await gobgp.start_bgp(Global(65001, "192.0.2.1", listen_port=LISTEN_PORT))
        async with (
            aclosing(gobgp.watch_best_paths()) as best,
            aclosing(gobgp.watch_peers()) as peers,
        ):
            generation = gobgp.generation
            assert await take(best, 2) == [
                Resync(generation, 0),
                BestPathEvent((), initial=True),  # sent by gobgpd: BGP is running
            ]
            assert await take(peers, 2) == [
                Resync(generation, 0),
                PeerEvent(PeerEventType.END_OF_INIT, None),
            ]
            await asyncio.to_thread(daemon.restart)
            resync, table = await take(best, 2)
            assert isinstance(resync, Resync) and resync.restarts == 1
            # BGP is not running on the new daemon: the client synthesises the table.
            assert table == BestPathEvent((), initial=True)
            peer_resync, end = await take(peers, 2)
            assert isinstance(peer_resync, Resync) and peer_resync.restarts == 1
            assert end == PeerEvent(PeerEventType.END_OF_INIT, None)
