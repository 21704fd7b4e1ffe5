"""RouteTable: the seam between the engine and a kernel routing table.

:class:`bgpctl.routesync.netlink.NetlinkRouteTable` is the real one;
``bgpctl.testing.routes.InMemoryRouteTable`` follows the same kernel rules in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bgpctl.routesync.errors import RouteSyncError
from bgpctl.routesync.types import Op, Route


class RouteTable(Protocol):
    """Kernel FIB access as the engine needs it."""

    async def dump(self, *, tables: frozenset[int], protocol: int) -> list[tuple[Route, int]]:
        """Return ``(route, metric)`` for every route of ``protocol`` in ``tables``.

        Routes of other protocols or tables are never returned.

        Raises:
            RouteSyncError: the dump failed.
        """

    async def local_addresses(self) -> frozenset[str]:
        """Return every address configured on the host's interfaces (canonical text).

        Raises:
            RouteSyncError: the dump failed.
        """

    async def write(self, ops: Sequence[Op]) -> dict[int, RouteSyncError]:
        """Apply ``ops`` in order; return the failures keyed by index into ``ops``.

        Each op succeeds or fails on its own. A delete that finds nothing fails with
        ``RouteNotFound``. If the call is cancelled, the outcome of the ops is unknown.

        Raises:
            OSError: the table is unusable (not a per-route failure).
        """
