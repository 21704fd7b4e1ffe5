"""LeaseLock's own KubeClient on the wire, against a minimal fake API server.

What the real kube-apiserver cannot show cheaply: the requests the lock sends (path,
body, user agent), that its client honours ``request_timeout``, and which client
``close`` closes. The Lease semantics themselves are in test_leaselock_integration.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bgpctl.runtime.client.errors import ApiConnectionError, Conflict, NotFound
from bgpctl.runtime.client.kube import KubeClient
from bgpctl.runtime.leaderelection import LeaderElectionRecord
from bgpctl.runtime.leaderelection.leaselock import USER_AGENT, LeaseLock

pytestmark = pytest.mark.timeout(30)

LEASES_PATH = "/apis/coordination.k8s.io/v1/namespaces/ns/leases"
STAMP = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
RECORD = LeaderElectionRecord("me", 15, STAMP, STAMP, 0)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def status(code: int, reason: str) -> web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code}
    return web.json_response({**body, "reason": reason, "message": reason}, status=code)


@dataclass
class FakeServer:
    kubeconfig: Path
    requests: list[tuple[str, str, str, Any]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[FakeServer]:
    """Serves one Lease ``ns/lock`` with resourceVersion bumps; ``hang`` never answers."""
    stored: dict[str, Any] = {}
    fake = FakeServer(tmp_path / "kubeconfig")

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        fake.requests.append((request.method, request.path, request.headers["User-Agent"], body))
        if request.path.endswith("/hang"):
            await fake.release.wait()
            return status(504, "Timeout")
        if request.method == "GET":
            return web.json_response(stored) if stored else status(404, "NotFound")
        if request.method == "POST":
            stored.update(body, metadata={**body["metadata"], "resourceVersion": "1"})
            return web.json_response(stored, status=201)
        if body["metadata"].get("resourceVersion") != stored["metadata"]["resourceVersion"]:
            return status(409, "Conflict")
        rv = str(int(stored["metadata"]["resourceVersion"]) + 1)
        stored.update(body, metadata={**body["metadata"], "resourceVersion": rv})
        return web.json_response(stored)

    app = web.Application()
    app.router.add_route("*", LEASES_PATH + "/{name}", handle)
    app.router.add_route("POST", LEASES_PATH, handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    try:
        yield fake
    finally:
        fake.release.set()
        await runner.cleanup()


async def open_lock(
    server: FakeServer, name: str = "lock", request_timeout: float = 5.0
) -> LeaseLock:
    return await LeaseLock.from_kubeconfig(
        server.kubeconfig, namespace="ns", name=name, identity="me", request_timeout=request_timeout
    )


async def test_requests_of_get_create_update(server: FakeServer) -> None:
    async with await open_lock(server) as lock:
        with pytest.raises(NotFound):
            await lock.get()
        await lock.create(RECORD)
        renewed = LeaderElectionRecord("me", 15, STAMP, STAMP.replace(microsecond=5), 0)
        await lock.update(renewed)
        assert await lock.get() == renewed
    (_, get_path, agent, _), (_, post_path, _, created), (_, put_path, _, replaced), _ = (
        server.requests
    )
    assert agent == USER_AGENT == "bgpctl-leader-election"
    assert get_path == put_path == LEASES_PATH + "/lock" and post_path == LEASES_PATH
    assert created == {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "lock", "namespace": "ns"},
        "spec": {
            "holderIdentity": "me",
            "leaseDurationSeconds": 15,
            "acquireTime": "2025-03-04T05:06:07.000000Z",
            "renewTime": "2025-03-04T05:06:07.000000Z",
            "leaseTransitions": 0,
        },
    }
    # The update is the object as created (its resourceVersion) with the new spec.
    assert replaced["metadata"]["resourceVersion"] == "1"
    assert replaced["spec"]["renewTime"] == "2025-03-04T05:06:07.000005Z"


async def test_stale_update_is_a_conflict(server: FakeServer) -> None:
    async with await open_lock(server) as first, await open_lock(server) as second:
        await first.create(RECORD)
        await second.get()
        await first.update(RECORD)
        with pytest.raises(Conflict):
            await second.update(RECORD)


async def test_request_timeout_bounds_every_call(server: FakeServer) -> None:
    async with await open_lock(server, name="hang", request_timeout=0.3) as lock:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(ApiConnectionError):
            await lock.get()
        assert loop.time() - started < 3


async def test_close_closes_only_a_client_the_lock_created(server: FakeServer) -> None:
    shared = await KubeClient.from_kubeconfig(server.kubeconfig)
    async with shared:
        async with LeaseLock(shared, namespace="ns", name="lock", identity="me") as lock:
            await lock.create(RECORD)
        assert await LeaseLock(shared, namespace="ns", name="lock", identity="x").get() == RECORD
        owned = await open_lock(server)
        await owned.close()
        with pytest.raises(RuntimeError, match="closed"):
            await owned.get()
