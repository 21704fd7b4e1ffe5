"""Named health checks behind ``/healthz`` (liveness) and ``/readyz`` (readiness).

Mirrors controller-runtime ``pkg/healthz`` (``Checker``, ``Ping``, named checks that
are run in registration order). The HTTP side (``?verbose``, ``?exclude``, per-check
subpaths) lives in :mod:`bgpctl.metrics.server`, which uses :class:`Checks` by shape.

Upstream: a ``Checker`` is ``func(*http.Request) error``; ours is a coroutine function
without arguments that raises to report failure, because no check looks at the request
and the HTTP server lives in another package. Upstream: checks have no deadline; each
of ours is bounded (5 s by default) and a timeout counts as failure, because a probe
that hangs is worse than one that fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

HealthCheck = Callable[[], Awaitable[None]]
"""Returns when healthy; raises (any ``Exception``) with the reason when not."""

DEFAULT_CHECK_TIMEOUT = 5.0
"""Seconds one check may take before it counts as failed."""


class CheckFailedError(Exception):
    """Raised by a check to report why it is unhealthy."""


async def ping() -> None:
    """Always healthy: the process is up and its event loop answers."""


def from_predicate(predicate: Callable[[], bool], reason: str) -> HealthCheck:
    """A check that fails with ``reason`` whenever ``predicate()`` is false."""

    async def check() -> None:
        if not predicate():
            raise CheckFailedError(reason)

    return check


@dataclass(frozen=True, slots=True)
class CheckResult:
    """Outcome of one check: ``error`` is None when it passed."""

    name: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the check passed."""
        return self.error is None


class Checks:
    """An ordered set of named checks (one for liveness, one for readiness)."""

    def __init__(self, *, timeout: float = DEFAULT_CHECK_TIMEOUT) -> None:
        self._timeout = timeout
        self._checks: dict[str, HealthCheck] = {}

    def add(self, name: str, check: HealthCheck) -> None:
        """Register ``check`` under ``name``.

        Raises:
            ValueError: the name is empty, contains ``/`` (it becomes a URL path
                segment) or is already taken.
        """
        if not name or "/" in name:
            raise ValueError(f"invalid health check name {name!r}")
        if name in self._checks:
            raise ValueError(f"health check {name!r} already registered")
        self._checks[name] = check

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._checks)

    async def run(self, names: Iterable[str]) -> list[CheckResult]:
        """Run the named checks one after another, in the order given.

        Raises:
            KeyError: a name is not registered.
        """
        return [await self._run_one(name, self._checks[name]) for name in names]

    async def _run_one(self, name: str, check: HealthCheck) -> CheckResult:
        try:
            async with asyncio.timeout(self._timeout):
                await check()
        except TimeoutError:
            return CheckResult(name, f"timed out after {self._timeout:g}s")
        except Exception as exc:
            return CheckResult(name, str(exc) or type(exc).__name__)
        return CheckResult(name)
