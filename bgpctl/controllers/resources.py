"""ResourceType constants of the six bgp.miloapis.com kinds, for clients and caches.

Derived from the API package's ``Kind`` descriptions, so a plural or kind name lives in
one place. All six kinds are cluster-scoped.
"""

from __future__ import annotations

from typing import Any

from bgpctl.api.resource import GROUP, VERSION, Kind
from bgpctl.api.v1alpha1 import (
    BGP_ADVERTISEMENT,
    BGP_CONFIGURATION,
    BGP_ENDPOINT,
    BGP_PEERING_POLICY,
    BGP_ROUTE_POLICY,
    BGP_SESSION,
)
from bgpctl.runtime.client.interfaces import ResourceType


def resource_type(kind: Kind[Any, Any]) -> ResourceType:
    """The REST identity of one of our (cluster-scoped) kinds."""
    return ResourceType(
        group=GROUP, version=VERSION, plural=kind.plural, kind=kind.kind, namespaced=False
    )


BGP_CONFIGURATIONS = resource_type(BGP_CONFIGURATION)
BGP_ENDPOINTS = resource_type(BGP_ENDPOINT)
BGP_SESSIONS = resource_type(BGP_SESSION)
BGP_PEERING_POLICIES = resource_type(BGP_PEERING_POLICY)
BGP_ADVERTISEMENTS = resource_type(BGP_ADVERTISEMENT)
BGP_ROUTE_POLICIES = resource_type(BGP_ROUTE_POLICY)

ALL_RESOURCES: tuple[ResourceType, ...] = (
    BGP_CONFIGURATIONS,
    BGP_ENDPOINTS,
    BGP_SESSIONS,
    BGP_PEERING_POLICIES,
    BGP_ADVERTISEMENTS,
    BGP_ROUTE_POLICIES,
)

CONFIGURATION_NAME = "default"
"""The BGPConfiguration singleton's name (admission rejects any other)."""


def field_manager(endpoint: str) -> str:
    """The per-node field manager: every write of a node's agent goes under this name."""
    return f"bgpctl/{endpoint}"
