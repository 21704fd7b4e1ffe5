"""The manager's servers over real sockets: one or two ports, readiness transitions,
leader-election checks, and a port that cannot be bound.

Real clock (sockets), short waits. The probe format itself is covered in
tests/metrics/test_server_probes.py.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest

from bgpctl.metrics.server import probe_servers
from bgpctl.runtime.manager import Manager, ManagerOptions, RunnableError
from bgpctl.testing.leaselock import InMemoryLeaseServer
from bgpctl.testing.runnables import FakeRunnable, Journal

pytestmark = pytest.mark.timeout(30)


class GatedCache:
    """A cache that syncs when the test opens the gate."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()

    async def start(self) -> None:
        await asyncio.Future()

    def has_synced(self) -> bool:
        return self.gate.is_set()


def serve(manager: Manager, metrics: str | None, health: str | None) -> Manager:
    for server in probe_servers(
        metrics_bind_address=metrics,
        health_probe_bind_address=health,
        healthz=manager.healthz,
        readyz=manager.readyz,
    ):
        manager.add_server(server)
    return manager


@asynccontextmanager
async def running(manager: Manager) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(manager.start())
    try:
        await asyncio.wait_for(manager.wait_serving(), 10)
        yield task
    finally:
        manager.stop()
        await asyncio.wait_for(task, 20)


async def get(port: int, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        return response.status, await response.text()


async def test_one_port_serves_metrics_and_probes() -> None:
    manager = serve(Manager(), "127.0.0.1:0", "127.0.0.1:0")
    async with running(manager):
        assert list(manager.addresses) == ["metrics"]
        port = manager.addresses["metrics"][1]
        status, body = await get(port, "/metrics")
        assert status == 200 and "python_gc_objects_collected_total" in body
        assert await get(port, "/healthz") == (200, "ok")


async def test_two_ports_split_metrics_from_probes() -> None:
    manager = serve(Manager(), "127.0.0.1:0", "localhost:0")
    async with running(manager):
        metrics, health = manager.addresses["metrics"][1], manager.addresses["health"][1]
        assert metrics != health
        assert (await get(metrics, "/metrics"))[0] == 200
        assert (await get(metrics, "/healthz"))[0] == 404
        assert (await get(health, "/metrics"))[0] == 404
        assert await get(health, "/healthz") == (200, "ok")


async def test_readiness_follows_caches_and_runnables() -> None:
    cache = GatedCache()
    worker = FakeRunnable("worker", Journal(), ready=False)
    manager = serve(Manager(), None, "127.0.0.1:0")
    manager.add_cache(cache, name="endpoints")
    manager.add(worker)
    async with running(manager):
        port = manager.addresses["health"][1]
        assert await get(port, "/healthz") == (200, "ok")  # alive while starting
        status, body = await get(port, "/readyz?verbose")
        assert status == 500
        assert "[-]caches failed" in body and "[-]runnables failed" in body
        cache.gate.set()
        await asyncio.sleep(0.3)
        status, body = await get(port, "/readyz")
        assert status == 500 and "[+]caches ok" in body and "[-]runnables failed" in body
        assert await get(port, "/readyz/runnables") == (
            500,
            "internal server error: worker is not ready\n",
        )
        worker.is_ready = True
        assert await get(port, "/readyz") == (200, "ok")


async def test_leader_election_checks_are_registered() -> None:
    lease = InMemoryLeaseServer()
    manager = Manager(
        ManagerOptions(leader_election=True, leader_election_id="test"),
        leader_election_lock=lease.lock("me"),
    )
    serve(manager, None, "127.0.0.1:0")
    async with running(manager):
        await asyncio.wait_for(manager.wait_elected(), 10)
        port = manager.addresses["health"][1]
        for path in ("/healthz?verbose", "/readyz?verbose"):
            status, body = await get(port, path)
            assert status == 200 and "[+]leader-election ok" in body


async def test_unbindable_port_fails_the_start() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        journal = Journal()
        manager = serve(Manager(), f"127.0.0.1:{port}", None)
        manager.add(FakeRunnable("worker", journal))
        with pytest.raises(RunnableError, match="metrics failed") as info:
            await asyncio.wait_for(manager.start(), 10)
        assert isinstance(info.value.__cause__, OSError)
        assert journal.events() == []
