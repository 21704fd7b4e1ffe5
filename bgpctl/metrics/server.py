"""HTTP server for ``/metrics``, ``/healthz`` and ``/readyz``, run as a Runnable.

Mirrors controller-runtime's metrics server (``pkg/metrics/server``: ``GET /metrics``
renders the registry) and its health probe handlers (``pkg/healthz``):

* ``/healthz`` and ``/readyz`` run every registered check in order. All pass: 200
  ``ok`` (with ``?verbose``: one ``[+]name ok`` line per check and ``<endpoint> check
  passed``). Any fails: 500 with every line, failures as ``[-]name failed: reason
  withheld``, then ``<endpoint> check failed``; the reasons go to the log.
* ``?exclude=name`` (repeatable) skips a check, listed as ``[+]name excluded: ok``.
* ``/healthz/<name>`` and ``/readyz/<name>`` run one check: 200 ``ok``, or 500
  ``internal server error: <reason>``; an unknown name is 404.
* ``/metrics`` is prometheus_client's own aiohttp handler: the text or OpenMetrics
  format from ``Accept``, gzip, and ``?name[]=`` to select metric families.

Why aiohttp rather than ``asyncio.start_server``: it is already installed and pinned
as kubernetes-asyncio's transport, so it adds nothing to the image, and it brings
what a hand-written server would have to get right on an unauthenticated port:
HTTP/1.1 parsing with size limits, keep-alive (Prometheus reuses connections),
HEAD, compression negotiation and a bounded graceful close. This module is its only
importer in bgpctl.

Upstream: metrics and probes are two servers on two addresses; here one class serves
any subset of the three endpoints, and the manager runs one or two instances, so both
the seed's two-port layout and a single port work. Upstream: no per-check deadline;
checks are bounded by the runtime's ``Checks``. The check set is consumed by shape
(:class:`CheckSet`), so this package does not import ``bgpctl.runtime``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.aiohttp import make_aiohttp_handler

from bgpctl.metrics.registry import REGISTRY

_SHUTDOWN_TIMEOUT = 2.0  # seconds for in-flight requests when the server stops
_TEXT_HEADERS = {
    "Content-Type": "text/plain; charset=utf-8",
    "X-Content-Type-Options": "nosniff",
}

_Handler = Callable[[web.Request], Awaitable[web.Response]]

log = structlog.get_logger(__name__)


class CheckOutcome(Protocol):
    """One check's result (``bgpctl.runtime.healthz.CheckResult``)."""

    @property
    def name(self) -> str:
        """The check's name."""
        ...

    @property
    def error(self) -> str | None:
        """Why it failed, or None if it passed."""
        ...


class CheckSet(Protocol):
    """Named checks (``bgpctl.runtime.healthz.Checks``)."""

    def names(self) -> list[str]:
        """Registered names, in order."""
        ...

    async def run(self, names: Iterable[str]) -> Sequence[CheckOutcome]:
        """Run the named checks in order."""
        ...


def parse_bind_address(address: str) -> tuple[str, int]:
    """Split ``"host:port"``, ``":port"`` or ``"[v6]:port"``; an empty host means all.

    Raises:
        ValueError: no port, or a port outside 0..65535.
    """
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"invalid bind address {address!r}: want host:port")
    return host.strip("[]"), int(port)


class ProbeServer:
    """Serves metrics and/or probes until cancelled.

    Args:
        host: Interface to bind; ``""`` binds all.
        port: TCP port; 0 picks a free one (see :meth:`wait_serving`).
        registry: Registry behind ``/metrics``; ``None`` leaves ``/metrics`` out.
        healthz: Checks behind ``/healthz``; ``None`` leaves it out.
        readyz: Checks behind ``/readyz``; ``None`` leaves it out.
        name: For logs.
    """

    def __init__(
        self,
        *,
        host: str = "",
        port: int = 0,
        registry: CollectorRegistry | None = REGISTRY,
        healthz: CheckSet | None = None,
        readyz: CheckSet | None = None,
        name: str = "probe server",
    ) -> None:
        self._host = host
        self._port = port
        self._registry = registry
        self._healthz = healthz
        self._readyz = readyz
        self.name = name
        self._serving = asyncio.Event()
        self._address: tuple[str, int] | None = None

    async def start(self) -> None:
        """Bind and serve until cancelled, then close (in-flight requests get 2 s).

        Raises:
            OSError: the address cannot be bound.
        """
        runner = web.AppRunner(
            self._application(), access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host or None, self._port, reuse_address=True)
            await site.start()
            sockname = runner.addresses[0]
            self._address = (str(sockname[0]), int(sockname[1]))
            self._serving.set()
            log.info("serving", server=self.name, address=f"{sockname[0]}:{sockname[1]}")
            await asyncio.Future()  # until cancelled
        finally:
            await runner.cleanup()

    async def wait_serving(self) -> tuple[str, int]:
        """Wait until the socket is bound; returns ``(host, port)``."""
        await self._serving.wait()
        assert self._address is not None
        return self._address

    @property
    def address(self) -> tuple[str, int] | None:
        """The bound ``(host, port)``, or None before binding."""
        return self._address

    def _application(self) -> web.Application:
        app = web.Application()
        if self._registry is not None:
            app.router.add_get("/metrics", make_aiohttp_handler(self._registry))
        for endpoint, checks in (("healthz", self._healthz), ("readyz", self._readyz)):
            if checks is not None:
                app.router.add_get(f"/{endpoint}", _aggregate_handler(endpoint, checks))
                app.router.add_get(f"/{endpoint}/{{name}}", _single_handler(checks))
        return app


def _aggregate_handler(endpoint: str, checks: CheckSet) -> _Handler:
    async def handle(request: web.Request) -> web.Response:
        excluded = set(request.query.getall("exclude", []))
        names = checks.names()
        if unknown := excluded.difference(names):
            log.info("cannot exclude unknown checks", endpoint=endpoint, checks=sorted(unknown))
        results = {r.name: r for r in await checks.run(n for n in names if n not in excluded)}
        lines: list[str] = []
        failures: dict[str, str] = {}
        for name in names:
            result = results.get(name)
            if result is None:
                lines.append(f"[+]{name} excluded: ok")
            elif result.error is None:
                lines.append(f"[+]{name} ok")
            else:
                lines.append(f"[-]{name} failed: reason withheld")
                failures[name] = result.error
        if failures:
            log.info("health check failed", endpoint=endpoint, failures=failures)
            lines.append(f"{endpoint} check failed")
            return _text("\n".join(lines) + "\n", status=500)
        if "verbose" not in request.query:
            return _text("ok")
        lines.append(f"{endpoint} check passed")
        return _text("\n".join(lines) + "\n")

    return handle


def _single_handler(checks: CheckSet) -> _Handler:
    async def handle(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in checks.names():
            return _text(f"no such check: {name}\n", status=404)
        (result,) = await checks.run([name])
        if result.error is not None:
            return _text(f"internal server error: {result.error}\n", status=500)
        return _text("ok")

    return handle


def _text(body: str, *, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, headers=_TEXT_HEADERS)


def probe_servers(
    *,
    metrics_bind_address: str | None,
    health_probe_bind_address: str | None,
    healthz: CheckSet,
    readyz: CheckSet,
    registry: CollectorRegistry = REGISTRY,
) -> list[ProbeServer]:
    """The servers for the given addresses, as controller-runtime's manager options.

    ``None``, ``""`` or ``"0"`` disables an endpoint group. Equal addresses share one
    server (named "metrics"); otherwise metrics and probes get one server each,
    named "metrics" and "health". Add each to the manager with ``add_server``.

    Raises:
        ValueError: an address is not ``host:port``.
    """
    metrics = _enabled(metrics_bind_address)
    health = _enabled(health_probe_bind_address)
    if metrics is not None and metrics == health:
        host, port = parse_bind_address(metrics)
        return [
            ProbeServer(
                host=host,
                port=port,
                registry=registry,
                healthz=healthz,
                readyz=readyz,
                name="metrics",
            )
        ]
    servers = []
    if metrics is not None:
        host, port = parse_bind_address(metrics)
        servers.append(ProbeServer(host=host, port=port, registry=registry, name="metrics"))
    if health is not None:
        host, port = parse_bind_address(health)
        servers.append(
            ProbeServer(
                host=host, port=port, registry=None, healthz=healthz, readyz=readyz, name="health"
            )
        )
    return servers


def _enabled(address: str | None) -> str | None:
    return None if address in (None, "", "0") else address
