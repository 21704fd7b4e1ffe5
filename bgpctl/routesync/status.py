"""What the engine reports: per-route failures, a status snapshot, and a metrics hook.

:class:`SyncMetrics` is a protocol with a no-op default, implemented by shape in
``bgpctl.metrics`` (this package does not import prometheus).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from bgpctl.routesync.errors import RouteSyncError
from bgpctl.routesync.types import RouteKey


@dataclass(frozen=True, slots=True)
class RouteFailure:
    """The last failure of one route.

    Attributes:
        error: what the kernel answered.
        attempts: consecutive failed attempts.
        retry_at: loop time (seconds) of the next attempt.
    """

    error: RouteSyncError
    attempts: int
    retry_at: float


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """A snapshot of the engine.

    Attributes:
        desired: routes in the desired set (before exclusions).
        installed: routes of ours the engine believes are in the kernel.
        failed: routes whose last write failed (retried with backoff).
        pending: routes waiting for the writer.
        synced: a full desired set has been applied since start (stale routes left by a
            previous run are only removed once that happens).
        failures: the last error per route key.
    """

    desired: int
    installed: int
    failed: int
    pending: int
    synced: bool
    failures: Mapping[RouteKey, RouteFailure]


class SyncMetrics(Protocol):
    """Receives counters from the engine; called on the writer task, must not block."""

    def batch_written(self, *, routes: int, failures: int, seconds: float) -> None:
        """One netlink write round finished: ``routes`` messages, ``failures`` refused."""

    def routes_changed(self, *, installed: int, failed: int, stale: int = 0) -> None:
        """Route counts after a write round and after the kernel's routes were adopted.

        ``stale``: routes of our protocol that are not wanted and not yet deleted.
        """


class NoopSyncMetrics:
    """The default :class:`SyncMetrics`: discards everything."""

    def batch_written(self, *, routes: int, failures: int, seconds: float) -> None:
        """Discard."""

    def routes_changed(self, *, installed: int, failed: int, stale: int = 0) -> None:
        """Discard."""
