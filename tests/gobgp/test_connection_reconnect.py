"""Connection supervision against the in-process fake gobgpd (127.0.0.1, port 0).

Covers: first connect and its deadline, generation bumps on restart (including one
between two health checks, which a ping alone cannot see), on outage+recovery and on a
hung daemon, the generation waiters, and backoff bounds. Real gobgpd restarts are in
test_gobgpd_restart.
"""

from __future__ import annotations

import asyncio
import random
import socket

import pytest

from bgpctl.gobgp.client import GoBGPClient
from bgpctl.gobgp.connection import DEFAULT_BACKOFF
from bgpctl.gobgp.errors import GoBGPUnavailable
from bgpctl.runtime.backoff import Backoff
from bgpctl.testing.gobgp import FakeGoBGP, serve_fake_gobgp

FAST = Backoff(duration=0.02, factor=2.0, cap=0.2)


def client(
    target: str, *, health_interval: float = 3600.0, ping_timeout: float = 2.0
) -> GoBGPClient:
    return GoBGPClient(
        target,
        backoff=FAST,
        health_interval=health_interval,
        ping_timeout=ping_timeout,
        attempt_timeout=1.0,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_first_connection_is_generation_one() -> None:
    async with serve_fake_gobgp() as fake, client(fake.target) as gobgp:
        assert gobgp.connected and gobgp.generation == 1
        assert not (await gobgp.get_bgp()).started


async def test_connect_gives_up_after_its_timeout() -> None:
    gobgp = client(f"127.0.0.1:{free_port()}")
    with pytest.raises(GoBGPUnavailable, match="cannot connect"):
        await gobgp.connect(connect_timeout=0.5)
    assert gobgp.generation == 0


async def test_connect_waits_for_a_daemon_that_starts_late() -> None:
    fake = FakeGoBGP()
    fake.port = free_port()
    gobgp = client(fake.target)
    connecting = asyncio.create_task(gobgp.connect(connect_timeout=10))
    await asyncio.sleep(0.3)
    await fake.start()
    try:
        await asyncio.wait_for(connecting, 5)
        assert gobgp.generation == 1
    finally:
        await gobgp.close()
        await fake.stop()


async def test_restart_between_health_checks_changes_generation() -> None:
    # Health pings every hour: only the sentinel stream can notice the restart.
    async with serve_fake_gobgp() as fake, client(fake.target) as gobgp:
        await fake.restart()
        assert await asyncio.wait_for(gobgp.wait_generation_change(1), 5) == 2
        assert gobgp.connected


async def test_outage_disconnects_then_recovery_changes_generation() -> None:
    async with serve_fake_gobgp() as fake, client(fake.target) as gobgp:
        await fake.stop()
        await asyncio.wait_for(gobgp.wait_disconnected(), 5)
        with pytest.raises(GoBGPUnavailable):
            await gobgp.get_bgp()
        await asyncio.sleep(0.5)  # several failed attempts
        assert gobgp.generation == 1
        await fake.start()
        assert await asyncio.wait_for(gobgp.wait_generation_change(1), 5) == 2


async def test_hung_daemon_is_detected_by_the_ping() -> None:
    async with (
        serve_fake_gobgp() as fake,
        client(fake.target, health_interval=0.1, ping_timeout=0.2) as gobgp,
    ):
        fake.stall()
        await asyncio.wait_for(gobgp.wait_disconnected(), 5)
        fake.stall(False)
        assert await asyncio.wait_for(gobgp.wait_generation_change(1), 5) == 2


async def test_generations_iterator_yields_each_new_generation() -> None:
    async with serve_fake_gobgp() as fake, client(fake.target) as gobgp:
        seen: list[int] = []

        async def collect() -> None:
            async for generation in gobgp.generations():
                seen.append(generation)

        task = asyncio.create_task(collect())
        await asyncio.sleep(0.05)
        for expected in (2, 3):
            await fake.restart()
            await asyncio.wait_for(gobgp.wait_generation_change(expected - 1), 5)
            await asyncio.sleep(0.05)
        await gobgp.close()
        await asyncio.wait_for(task, 5)  # ends when the client closes
        assert seen == [1, 2, 3]


async def test_calls_after_close_raise_unavailable() -> None:
    async with serve_fake_gobgp() as fake:
        gobgp = client(fake.target)
        await gobgp.connect()
        await gobgp.close()
        with pytest.raises(GoBGPUnavailable):
            await gobgp.get_bgp()
        with pytest.raises(GoBGPUnavailable):
            await gobgp.wait_connected()


def test_default_backoff_is_bounded_jittered_and_growing() -> None:
    rng = random.Random(7)
    delays = DEFAULT_BACKOFF.delays(rng.random)
    values = [next(delays) for _ in range(12)]
    assert all(0.1 <= v <= 2.0 for v in values)
    assert values[0] <= 0.125 and values[-1] >= 1.6
    assert len(set(values)) == len(values)  # jittered
