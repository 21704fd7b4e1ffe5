"""Pure pieces of the session reconciler: names, indexes and the GoBGP peer to configure.

Kept apart from :mod:`bgpctl.controllers.session` (which does the I/O) so the rules of
what a node configures for a session can be read and unit-tested on their own.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from bgpctl.api.meta import AddressFamily
from bgpctl.api.v1alpha1.endpoint import BGPEndpointSpec
from bgpctl.api.v1alpha1.session import BGPSessionSpec
from bgpctl.gobgp.types import (
    IPV4_UNICAST,
    IPV6_UNICAST,
    Afi,
    Family,
    PeerSpec,
    Safi,
)

FINALIZER_PREFIX = "bgp.miloapis.com/session-"
ENDPOINT_INDEX = "endpoints"
"""Index of the session informer: the names of both endpoints of a session."""
ADDRESS_INDEX = "address"
"""Index of the endpoint informer: the endpoint's address (as ``str(ip_address)``)."""
DESCRIPTION_PREFIX = "bgpsession/"
CONNECT_RETRY = 5
"""Seconds between active connects; GoBGP's default (120 s) makes one lost SYN cost minutes."""
DEFAULT_FAMILIES = (IPV4_UNICAST, IPV6_UNICAST)


def finalizer(endpoint: str) -> str:
    """The finalizer that node ``endpoint`` holds on the sessions it configured."""
    return f"{FINALIZER_PREFIX}{endpoint}"


def description(session: str) -> str:
    """The GoBGP neighbor description that tags a neighbor with its session."""
    return f"{DESCRIPTION_PREFIX}{session}"


def endpoint_index(obj: dict[str, Any]) -> list[str]:
    """Index function: the session's two endpoint names."""
    spec = obj.get("spec") or {}
    return [n for n in (spec.get("localEndpoint"), spec.get("remoteEndpoint")) if n]


def address_index(obj: dict[str, Any]) -> list[str]:
    """Index function of the endpoint informer: the endpoint's address, normalised."""
    try:
        return [str(ipaddress.ip_address((obj.get("spec") or {}).get("address", "")))]
    except ValueError:
        return []


def families(address_families: Iterable[AddressFamily] | None) -> tuple[Family, ...]:
    """GoBGP families of an ``addressFamilies`` list; IPv4 and IPv6 unicast when unset."""
    out = tuple(
        Family(
            Afi.IP if f.afi == "IPv4" else Afi.IP6,
            Safi.MULTICAST if f.safi == "Multicast" else Safi.UNICAST,
        )
        for f in address_families or ()
    )
    return out or DEFAULT_FAMILIES


def build_peer(
    *,
    session: str,
    spec: BGPSessionSpec,
    me: str,
    local: BGPEndpointSpec,
    remote: BGPEndpointSpec,
    listen_port: int,
    default_families: tuple[Family, ...] = DEFAULT_FAMILIES,
) -> PeerSpec:
    """The neighbor node ``me`` configures for ``session``.

    ``local`` is this node's endpoint and ``remote`` the other one, whichever side of
    the session they are on. The remote port is the remote endpoint's ``port``, else
    the configuration's ``listenPort``. Only the ``localEndpoint`` node (the reflector)
    marks the neighbor as a route-reflector client.

    Raises:
        ValueError: ``me`` is not an endpoint of the session, or an address is invalid.
    """
    if me not in (spec.local_endpoint, spec.remote_endpoint):
        raise ValueError(f"endpoint {me!r} is not part of session {session!r}")
    neighbor = ipaddress.ip_address(remote.address)
    own = ipaddress.ip_address(local.address)
    reflector = spec.route_reflector is not None and me == spec.local_endpoint
    ebgp = spec.ebgp_config
    return PeerSpec(
        neighbor_address=neighbor,
        peer_asn=remote.as_number,
        description=description(session),
        families=families(remote.address_families) if remote.address_families else default_families,
        local_address=own if own.version == neighbor.version else None,
        remote_port=remote.port or listen_port,
        connect_retry=CONNECT_RETRY,
        hold_time=spec.hold_time,
        keepalive_interval=spec.keepalive_time,
        ebgp_multihop_ttl=ebgp.multi_hop.ttl if ebgp and ebgp.multi_hop else 0,
        ttl_security_min=ebgp.ttl_security.ttl if ebgp and ebgp.ttl_security else 0,
        route_reflector_client=reflector,
        route_reflector_cluster_id=spec.route_reflector.cluster_id
        if reflector and spec.route_reflector
        else "",
        graceful_restart_time=spec.graceful_restart.restart_time if spec.graceful_restart else 0,
    )
