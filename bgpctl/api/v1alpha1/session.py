"""BGPSession: a peering between two BGPEndpoints, configured by both ends' nodes.

Each end's node configures its own GoBGP and writes only its own entry of
``status.endpoints`` (one writer per field; the Go original had both nodes fight over
the same conditions).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bgpctl.api.meta import ConditionList
from bgpctl.api.resource import Kind, PrinterColumn
from bgpctl.api.schema import (
    TTL,
    ApiModel,
    Count,
    HoldTime,
    IPv4Address,
    KeepaliveTime,
    ObjectName,
    cel,
    k8s,
    rules,
)


class RouteReflectorSettings(ApiModel):
    """Marks remoteEndpoint as a route-reflector client of localEndpoint."""

    cluster_id: IPv4Address = Field(alias="clusterID")
    """Route-reflector cluster ID (dotted IPv4)."""


class MultiHop(ApiModel):
    """eBGP multihop: allow the peer to be several hops away."""

    ttl: TTL
    """TTL of outgoing BGP packets."""


class TTLSecurity(ApiModel):
    """Generalized TTL security (RFC 5082)."""

    ttl: TTL
    """Maximum hop count to the peer; packets with a lower TTL are dropped."""


class EBGPConfig(ApiModel):
    """eBGP transport options; multiHop and ttlSecurity are mutually exclusive."""

    model_config = rules(
        cel(
            "!(has(self.multiHop) && has(self.ttlSecurity))",
            "multiHop and ttlSecurity are mutually exclusive",
        )
    )

    multi_hop: MultiHop | None = None
    """Enable eBGP multihop with this TTL."""
    ttl_security: TTLSecurity | None = None
    """Enable TTL security with this hop count."""


class GracefulRestart(ApiModel):
    """BGP graceful restart (RFC 4724) on the session, as a restarting and helper speaker."""

    restart_time: Annotated[int, Field(ge=1, le=4095), k8s(format="int32")] = 120
    """Seconds the peer keeps this end's routes after the session drops (max 4095)."""


def _timers_rule() -> dict[str, str]:
    return cel(
        "!has(self.holdTime) || !has(self.keepaliveTime) || self.keepaliveTime < self.holdTime",
        "keepaliveTime must be less than holdTime",
        field_path=".keepaliveTime",
    )


class BGPSessionSpec(ApiModel):
    """The two ends of the session and its parameters."""

    model_config = rules(
        _timers_rule(),
        cel(
            "self.localEndpoint != self.remoteEndpoint",
            "localEndpoint and remoteEndpoint must differ",
            field_path=".remoteEndpoint",
        ),
    )

    local_endpoint: ObjectName
    """Name of one BGPEndpoint (the route reflector, in route-reflector sessions)."""
    remote_endpoint: ObjectName
    """Name of the other BGPEndpoint (the client, in route-reflector sessions)."""
    hold_time: HoldTime = 90
    """Hold time in seconds."""
    keepalive_time: KeepaliveTime = 30
    """Keepalive interval in seconds."""
    route_reflector: RouteReflectorSettings | None = None
    """Make remoteEndpoint a route-reflector client of localEndpoint."""
    ebgp_config: Annotated[EBGPConfig | None, Field(alias="ebgpConfig")] = None
    """eBGP transport options."""
    graceful_restart: GracefulRestart | None = None
    """Negotiate BGP graceful restart (off when unset)."""


class SessionEndpointStatus(ApiModel):
    """One end's view of the session, written only by the node of that endpoint."""

    endpoint: Annotated[str, Field(max_length=253)]
    """The BGPEndpoint this entry describes (the node that wrote it)."""
    state: Annotated[str | None, Field(max_length=32)] = None
    """BGP FSM state (Idle, Connect, Active, OpenSent, OpenConfirm, Established), or
    Unknown while the node's GoBGP is unreachable."""
    reason: Annotated[str | None, Field(max_length=64)] = None
    """CamelCase reason: the FSM state, or why it is not known or not configured
    (GoBGPUnavailable, EndpointNotFound, NoConfiguration, GoBGPError, InvalidSession)."""
    configured: bool = False
    """Whether the peer is configured in this node's GoBGP."""
    message: Annotated[str | None, Field(max_length=1024)] = None
    """Details, e.g. why configuration failed."""
    last_error: Annotated[str | None, Field(max_length=1024)] = None
    """The last error of the session in words (connect failure, NOTIFICATION sent or
    received, connection lost), as far as GoBGP's counters tell."""
    received_prefixes: Count | None = None
    """Prefixes received from the other end."""
    accepted_prefixes: Count | None = None
    """Received prefixes accepted by import policy."""
    advertised_prefixes: Count | None = None
    """Prefixes advertised to the other end."""
    flap_count: Count | None = None
    """Times the session left Established since the node's GoBGP added the neighbor."""
    last_transition_time: Annotated[str | None, k8s(format="date-time")] = None
    """When ``state`` last changed."""


class BGPSessionStatus(ApiModel):
    """Observed state of the session."""

    conditions: ConditionList = []
    """Configured and SessionEstablished."""
    endpoints: Annotated[
        list[SessionEndpointStatus],
        Field(max_length=2),
        k8s(**{"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["endpoint"]}),
    ] = []
    """Per-end state; each end's node owns its own entry."""


BGP_SESSION: Kind[BGPSessionSpec, BGPSessionStatus] = Kind(
    kind="BGPSession",
    plural="bgpsessions",
    short_names=("bgpsess",),
    spec=BGPSessionSpec,
    status=BGPSessionStatus,
    description="A BGP peering between two BGPEndpoints.",
    columns=(
        PrinterColumn("Local", ".spec.localEndpoint"),
        PrinterColumn("Remote", ".spec.remoteEndpoint"),
        PrinterColumn("Configured", '.status.conditions[?(@.type=="Configured")].status'),
        PrinterColumn("Established", '.status.conditions[?(@.type=="SessionEstablished")].status'),
        PrinterColumn("Age", ".metadata.creationTimestamp", "date"),
    ),
    # Each node's agent lists and watches only its own sessions (field selectors).
    selectable_fields=(".spec.localEndpoint", ".spec.remoteEndpoint"),
)
