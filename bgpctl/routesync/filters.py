"""What must never be installed: excluded networks and routes via our own addresses.

A route whose prefix equals or lies inside an excluded network (the configured list, e.g.
the Go original's ``SRV6_NET``, plus the node's own originated prefixes) is treated as
withdrawn. A next hop that is a local address is our own path (the kernel would loop the
traffic back, or refuse it for IPv6); it is dropped, and a route left without next hops
is treated as withdrawn. Upstream: exact-prefix match only and no local check; we match
by containment, because a more specific route inside the SRv6 locator is just as harmful.
"""

from __future__ import annotations

from collections.abc import Iterable

from bgpctl.routesync.prefixes import PrefixSet, canonical_address
from bgpctl.routesync.types import Route


class RouteFilter:
    """Decides the effective route for a desired one (see module docstring)."""

    __slots__ = ("_configured", "_dynamic", "_excluding", "_local")

    def __init__(self, exclude: Iterable[str] = ()) -> None:
        self._configured = PrefixSet(exclude)
        self._dynamic = PrefixSet()
        self._excluding = bool(self._configured)
        self._local: frozenset[str] = frozenset()

    @property
    def excluded(self) -> frozenset[str]:
        """Every excluded network, configured and dynamic."""
        return self._configured.networks | self._dynamic.networks

    def set_dynamic(self, networks: Iterable[str]) -> None:
        """Replace the dynamic exclusions (the node's own originated prefixes)."""
        self._dynamic = PrefixSet(networks)
        self._excluding = bool(self._configured) or bool(self._dynamic)

    def set_local_addresses(self, addresses: Iterable[str]) -> None:
        """Replace the set of local addresses (any text form)."""
        self._local = frozenset(canonical_address(a) for a in addresses)

    def effective(self, route: Route) -> Route | None:
        """Return ``route``, ``route`` without its local next hops, or None (not installed)."""
        if self._excluding and (
            self._configured.contains(route.dst) or self._dynamic.contains(route.dst)
        ):
            return None
        local = self._local
        nexthops = route.nexthops
        if len(nexthops) == 1:
            return None if nexthops[0].gateway in local else route
        kept = tuple(nh for nh in nexthops if nh.gateway not in local)
        if not kept:
            return None
        return route if len(kept) == len(nexthops) else Route(route.dst, kept, route.table)
