"""Value types of the route sync engine: next hops, routes, withdrawals, write operations.

A route is identified by :data:`RouteKey` ``(table, dst)``. Protocol and metric are not
part of a :class:`Route`: the engine stamps its own (see :class:`RouteSyncOptions`), so
every route it writes carries the same protocol number and can be told apart from the
routes of every other protocol in the kernel.

Prefix and gateway texts are canonicalised on construction (see :mod:`.prefixes`), so
two routes for the same destination always have equal keys. Construction raises
``ValueError`` for input the kernel could never accept (bad text, no next hop, an IPv4
next hop for an IPv6 prefix).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TypeAlias

from bgpctl.routesync.prefixes import (
    AF_INET,
    AF_INET6,
    address_family,
    canonical_address,
    canonical_prefix,
)

MAIN_TABLE = 254
"""The kernel's main routing table (``RT_TABLE_MAIN``)."""

RouteKey: TypeAlias = tuple[int, str]
"""``(table, dst)``: what identifies a route of ours in the kernel."""


@dataclass(frozen=True, slots=True)
class NextHop:
    """One next hop of a route.

    Attributes:
        gateway: the next-hop address (canonical text). An IPv6 gateway for an IPv4
            route is sent as ``RTA_VIA`` (RFC 5549).
        ifindex: output interface index, 0 to let the kernel resolve it from the
            gateway. Required for link-local (``fe80::/10``) gateways.
        weight: ECMP weight, 1..256 (only meaningful with several next hops).
    """

    gateway: str
    ifindex: int = 0
    weight: int = 1

    def __post_init__(self) -> None:
        canonical = canonical_address(self.gateway)
        if canonical != self.gateway:
            object.__setattr__(self, "gateway", canonical)
        if not 1 <= self.weight <= 256:
            raise ValueError(f"next-hop weight {self.weight} outside 1..256")
        if self.ifindex < 0:
            raise ValueError(f"negative ifindex {self.ifindex}")

    @property
    def family(self) -> int:
        """``AF_INET`` or ``AF_INET6``: the family of the gateway address."""
        return address_family(self.gateway)


@dataclass(frozen=True, slots=True)
class Route:
    """A route the engine should install: a destination prefix via one or more next hops.

    Attributes:
        dst: destination prefix (canonical text, host bits must be zero).
        nexthops: one next hop, or several for an ECMP (multipath) route. Stored sorted
            and without duplicates, so equal sets compare equal.
        table: kernel routing table id (254 = main).
    """

    dst: str
    nexthops: tuple[NextHop, ...]
    table: int = MAIN_TABLE

    def __post_init__(self) -> None:
        canonical = canonical_prefix(self.dst)
        if canonical != self.dst:
            object.__setattr__(self, "dst", canonical)
        nexthops = self.nexthops
        if not nexthops:
            raise ValueError(f"route {self.dst} has no next hop")
        if len(nexthops) > 1:
            ordered = tuple(sorted(set(nexthops), key=_nexthop_order))
            if ordered != nexthops:
                object.__setattr__(self, "nexthops", ordered)
        if ":" in canonical and any(nh.family == AF_INET for nh in self.nexthops):
            raise ValueError(f"IPv6 route {self.dst} cannot have an IPv4 next hop")
        if not 0 < self.table < 2**32:
            raise ValueError(f"invalid table id {self.table}")

    @classmethod
    def via(cls, dst: str, *gateways: str, table: int = MAIN_TABLE) -> Route:
        """Build a route to ``dst`` via the given gateway addresses (several: ECMP)."""
        return cls(dst, tuple(NextHop(gw) for gw in gateways), table)

    @property
    def key(self) -> RouteKey:
        """``(table, dst)``."""
        return (self.table, self.dst)

    @property
    def family(self) -> int:
        """``AF_INET`` or ``AF_INET6``: the family of the destination."""
        return AF_INET6 if ":" in self.dst else AF_INET


@dataclass(frozen=True, slots=True)
class Withdraw:
    """A change that removes the route for ``dst`` in ``table``, whatever its next hops."""

    dst: str
    table: int = MAIN_TABLE

    def __post_init__(self) -> None:
        canonical = canonical_prefix(self.dst)
        if canonical != self.dst:
            object.__setattr__(self, "dst", canonical)

    @property
    def key(self) -> RouteKey:
        """``(table, dst)``."""
        return (self.table, self.dst)


Change: TypeAlias = Route | Withdraw
"""One entry of the change stream: install or replace a route, or withdraw it."""


class OpKind(enum.IntEnum):
    """What one netlink message does to one route."""

    ADD = 0
    """Create; fails with EEXIST if any route holds the same table, prefix and metric."""
    REPLACE = 1
    """Replace our own route in place (same table, prefix and metric)."""
    DELETE = 2
    """Delete, matching table, prefix, metric and our protocol only."""


Op: TypeAlias = tuple[OpKind, Route, int]
"""``(kind, route, metric)``: one kernel write. A tuple, not a class: 100k are built per
full-table sync."""


def _nexthop_order(nexthop: NextHop) -> tuple[int, str, int, int]:
    return (nexthop.family, nexthop.gateway, nexthop.ifindex, nexthop.weight)
