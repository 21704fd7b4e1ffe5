"""ProbeServer over real sockets: /healthz, /readyz (aggregate, verbose, exclude,
per-check) and /metrics (formats, gzip, name selection), on 127.0.0.1 with an ephemeral port.

Uses the runtime's ``Checks`` and a private registry; the manager's wiring of the
same server is in tests/runtime/test_manager_http.py.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from prometheus_client import Counter

from bgpctl.metrics.registry import new_registry
from bgpctl.metrics.server import ProbeServer, parse_bind_address
from bgpctl.runtime.healthz import CheckFailedError, Checks, ping

pytestmark = pytest.mark.timeout(30)


class Switch:
    def __init__(self) -> None:
        self.healthy = True

    async def __call__(self) -> None:
        if not self.healthy:
            raise CheckFailedError("secret reason")


async def hang() -> None:
    await asyncio.sleep(3600)


@pytest.fixture
async def served() -> AsyncIterator[dict[str, Any]]:
    registry = new_registry(process_collectors=False)
    Counter("bgpctl_test_things", "Things counted by the test", registry=registry).inc(3)
    healthz, readyz = Checks(), Checks(timeout=0.2)
    healthz.add("ping", ping)
    switch = Switch()
    readyz.add("ping", ping)
    readyz.add("switch", switch)
    server = ProbeServer(host="127.0.0.1", registry=registry, healthz=healthz, readyz=readyz)
    task = asyncio.create_task(server.start())
    host, port = await asyncio.wait_for(server.wait_serving(), 10)
    async with aiohttp.ClientSession(f"http://{host}:{port}") as session:
        yield {"session": session, "switch": switch, "readyz": readyz, "port": port}
    task.cancel()
    await asyncio.wait([task])


async def fetch(session: aiohttp.ClientSession, path: str, **kw: Any) -> tuple[int, str]:
    async with session.get(path, **kw) as response:
        return response.status, await response.text()


async def test_all_checks_pass(served: dict[str, Any]) -> None:
    session = served["session"]
    assert await fetch(session, "/healthz") == (200, "ok")
    assert await fetch(session, "/readyz") == (200, "ok")


async def test_verbose_lists_every_check(served: dict[str, Any]) -> None:
    status, body = await fetch(served["session"], "/readyz?verbose")
    assert status == 200
    assert body == "[+]ping ok\n[+]switch ok\nreadyz check passed\n"


async def test_a_failing_check_is_500_and_withholds_the_reason(served: dict[str, Any]) -> None:
    served["switch"].healthy = False
    status, body = await fetch(served["session"], "/readyz")
    assert status == 500
    assert body == "[+]ping ok\n[-]switch failed: reason withheld\nreadyz check failed\n"
    assert "secret" not in body
    assert await fetch(served["session"], "/healthz") == (200, "ok")


async def test_exclude_skips_a_check(served: dict[str, Any]) -> None:
    served["switch"].healthy = False
    status, body = await fetch(served["session"], "/readyz?exclude=switch&exclude=nope&verbose")
    assert status == 200
    assert body == "[+]ping ok\n[+]switch excluded: ok\nreadyz check passed\n"


async def test_single_check_subpath(served: dict[str, Any]) -> None:
    session = served["session"]
    assert await fetch(session, "/readyz/switch") == (200, "ok")
    served["switch"].healthy = False
    assert await fetch(session, "/readyz/switch") == (
        500,
        "internal server error: secret reason\n",
    )
    status, _ = await fetch(session, "/readyz/nope")
    assert status == 404


async def test_a_hanging_check_times_out(served: dict[str, Any]) -> None:
    served["readyz"].add("hang", hang)
    status, body = await fetch(served["session"], "/readyz")
    assert status == 500
    assert "[-]hang failed" in body
    assert await fetch(served["session"], "/readyz/hang") == (
        500,
        "internal server error: timed out after 0.2s\n",
    )


async def test_metrics_text_format(served: dict[str, Any]) -> None:
    async with served["session"].get("/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        body = await response.text()
    assert "bgpctl_test_things_total 3.0" in body


async def test_metrics_openmetrics_format(served: dict[str, Any]) -> None:
    headers = {"Accept": "application/openmetrics-text; version=1.0.0"}
    async with served["session"].get("/metrics", headers=headers) as response:
        assert response.headers["Content-Type"].startswith("application/openmetrics-text")
        assert (await response.text()).endswith("# EOF\n")


async def test_metrics_gzip(served: dict[str, Any]) -> None:
    headers = {"Accept-Encoding": "gzip"}
    async with served["session"].get("/metrics", headers=headers, auto_decompress=False) as r:
        assert r.headers["Content-Encoding"] == "gzip"
        assert b"bgpctl_test_things_total" in gzip.decompress(await r.read())


async def test_metrics_selects_families_by_name(served: dict[str, Any]) -> None:
    status, body = await fetch(served["session"], "/metrics", params={"name[]": "nothing_here"})
    assert status == 200 and "bgpctl_test_things" not in body
    wanted = {"name[]": "bgpctl_test_things_total"}
    status, body = await fetch(served["session"], "/metrics", params=wanted)
    assert "bgpctl_test_things_total 3.0" in body


async def test_head_is_answered(served: dict[str, Any]) -> None:
    async with served["session"].head("/healthz") as response:
        assert response.status == 200


async def test_unconfigured_endpoints_are_404() -> None:
    server = ProbeServer(host="127.0.0.1", registry=None, healthz=None, readyz=None)
    task = asyncio.create_task(server.start())
    host, port = await server.wait_serving()
    async with aiohttp.ClientSession(f"http://{host}:{port}") as session:
        for path in ("/metrics", "/healthz", "/readyz"):
            assert (await fetch(session, path))[0] == 404
    task.cancel()
    await asyncio.wait([task])


async def test_cancel_closes_the_port(served: dict[str, Any]) -> None:
    server = ProbeServer(host="127.0.0.1", registry=None)
    task = asyncio.create_task(server.start())
    _, port = await server.wait_serving()
    task.cancel()
    await asyncio.wait([task])
    assert task.cancelled()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)


@pytest.mark.parametrize(
    ("address", "expected"),
    [(":8082", ("", 8082)), ("127.0.0.1:0", ("127.0.0.1", 0)), ("[::1]:9", ("::1", 9))],
)
async def test_parse_bind_address(address: str, expected: tuple[str, int]) -> None:
    assert parse_bind_address(address) == expected


@pytest.mark.parametrize("address", ["8082", "host:", "host:http", "h:70000"])
async def test_parse_bind_address_rejects(address: str) -> None:
    with pytest.raises(ValueError, match="bind address"):
        parse_bind_address(address)
