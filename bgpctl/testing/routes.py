"""InMemoryRouteTable: a RouteTable that follows the kernel's rules, in memory.

Entries are keyed like the kernel's FIB: ``(table, dst, metric)``, each with the protocol
that wrote it. The rules that matter to the engine are kept: an exclusive add fails with
EEXIST whatever the protocol of the existing entry, a replace overwrites whatever holds
the key, and a delete matches protocol and metric (ESRCH otherwise). Tests can seed
foreign routes, make prefixes fail with an errno, and inspect every write batch.
"""

from __future__ import annotations

import errno as errnos
from collections.abc import Sequence
from dataclasses import dataclass, field

from bgpctl.routesync.errors import RouteSyncError, error_for
from bgpctl.routesync.types import Op, OpKind, Route

FibKey = tuple[int, str, int]
"""``(table, dst, metric)``."""


@dataclass
class InMemoryRouteTable:
    """Kernel-like route storage for unit tests of the engine.

    Attributes:
        protocol: protocol number stamped on routes written through :meth:`write`.
        entries: ``(table, dst, metric) -> (protocol, route)``.
        addresses: what :meth:`local_addresses` returns.
        fail: ``dst -> errno``: every write to that prefix fails with it.
        lost_acks: prefixes whose writes are applied but reported as ``AcksLost`` (a
            receive-buffer overflow: the caller cannot know the outcome).
        broken: if set, :meth:`write` raises it (a socket-level failure) and applies nothing.
        batches: the ops of every :meth:`write` call, in order.
        dumps: how many times :meth:`dump` was called.
    """

    protocol: int = 196
    entries: dict[FibKey, tuple[int, Route]] = field(default_factory=dict)
    addresses: set[str] = field(default_factory=set)
    fail: dict[str, int] = field(default_factory=dict)
    lost_acks: set[str] = field(default_factory=set)
    broken: OSError | None = None
    batches: list[list[Op]] = field(default_factory=list)
    dumps: int = 0

    def seed(self, route: Route, *, metric: int, protocol: int) -> None:
        """Put a route in place as if another program (or a previous run) had added it."""
        self.entries[(route.table, route.dst, metric)] = (protocol, route)

    def ours(self) -> dict[tuple[int, str], Route]:
        """Routes of :attr:`protocol` by ``(table, dst)``."""
        return {
            (table, dst): route
            for (table, dst, _), (protocol, route) in self.entries.items()
            if protocol == self.protocol
        }

    def foreign(self) -> dict[FibKey, tuple[int, Route]]:
        """Entries of any other protocol."""
        return {k: v for k, v in self.entries.items() if v[0] != self.protocol}

    async def dump(self, *, tables: frozenset[int], protocol: int) -> list[tuple[Route, int]]:
        self.dumps += 1
        return [
            (route, metric)
            for (table, _, metric), (owner, route) in self.entries.items()
            if owner == protocol and table in tables
        ]

    async def local_addresses(self) -> frozenset[str]:
        return frozenset(self.addresses)

    async def write(self, ops: Sequence[Op]) -> dict[int, RouteSyncError]:
        self.batches.append(list(ops))
        if self.broken is not None:
            raise self.broken
        failures: dict[int, RouteSyncError] = {}
        for index, (kind, route, metric) in enumerate(ops):
            code = self._apply(kind, route, metric)
            if route.dst in self.lost_acks:
                code = errnos.ENOBUFS
            if code:
                failures[index] = error_for(code)
        return failures

    def _apply(self, kind: OpKind, route: Route, metric: int) -> int:
        key = (route.table, route.dst, metric)
        if kind != OpKind.DELETE and route.dst in self.fail:
            return self.fail[route.dst]
        if kind == OpKind.ADD:
            if key in self.entries:
                return errnos.EEXIST
            self.entries[key] = (self.protocol, route)
        elif kind == OpKind.REPLACE:
            self.entries[key] = (self.protocol, route)
        else:
            held = self.entries.get(key)
            if held is None or held[0] != self.protocol:
                return errnos.ESRCH
            del self.entries[key]
        return 0
