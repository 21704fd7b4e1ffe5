"""BGPPeeringPolicy: materialises BGPSessions between selected endpoints (mesh or RR).

Only the elected leader acts on policies (the Go original's per-pod "designated
reconciler" could pick an endpoint with no pod and then nobody acted).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bgpctl.api.meta import ConditionList, LabelSelector
from bgpctl.api.resource import Kind, PrinterColumn
from bgpctl.api.schema import ApiModel, Count, HoldTime, IPv4Address, KeepaliveTime, cel, rules
from bgpctl.api.v1alpha1.session import GracefulRestart


class SessionTemplate(ApiModel):
    """Parameters copied into every generated session; unset fields use session defaults."""

    model_config = rules(
        cel(
            "!has(self.holdTime) || !has(self.keepaliveTime) || self.keepaliveTime < self.holdTime",
            "keepaliveTime must be less than holdTime",
            field_path=".keepaliveTime",
        )
    )

    hold_time: HoldTime | None = None
    """Hold time in seconds for generated sessions."""
    keepalive_time: KeepaliveTime | None = None
    """Keepalive interval in seconds for generated sessions."""
    graceful_restart: GracefulRestart | None = None
    """BGP graceful restart for generated sessions (off when unset)."""


class RouteReflectorConfig(ApiModel):
    """Which selected endpoint is the reflector, and its cluster ID."""

    reflector_selector: LabelSelector
    """Selects exactly one of the policy's endpoints as the route reflector."""
    cluster_id: IPv4Address = Field(alias="clusterID")
    """Route-reflector cluster ID (dotted IPv4)."""


class BGPPeeringPolicySpec(ApiModel):
    """Which endpoints peer, and how."""

    model_config = rules(
        cel(
            "has(self.routeReflectorConfig) == (self.mode == 'route-reflector')",
            "routeReflectorConfig is required when mode is route-reflector, "
            "and not allowed otherwise",
            field_path=".routeReflectorConfig",
        )
    )

    selector: LabelSelector
    """Selects the BGPEndpoints this policy peers."""
    mode: Literal["mesh", "route-reflector"] = "mesh"
    """mesh: a session for every pair; route-reflector: one session per client."""
    session_template: SessionTemplate | None = None
    """Parameters for generated sessions."""
    route_reflector_config: RouteReflectorConfig | None = None
    """Required in route-reflector mode."""


class BGPPeeringPolicyStatus(ApiModel):
    """Observed state of the policy."""

    conditions: ConditionList = []
    """Ready, or InvalidConfig with the reason."""
    matched_endpoints: Count | None = None
    """Number of endpoints the selector matches."""
    active_sessions: Count | None = None
    """Number of sessions this policy owns that exist."""
    observed_generation: Count | None = None
    """The generation these counts were computed from."""


BGP_PEERING_POLICY: Kind[BGPPeeringPolicySpec, BGPPeeringPolicyStatus] = Kind(
    kind="BGPPeeringPolicy",
    plural="bgppeeringpolicies",
    short_names=("bgppp",),
    spec=BGPPeeringPolicySpec,
    status=BGPPeeringPolicyStatus,
    description="Creates BGPSessions between selected BGPEndpoints (mesh or route reflector).",
    columns=(
        PrinterColumn("Mode", ".spec.mode"),
        PrinterColumn("Endpoints", ".status.matchedEndpoints", "integer"),
        PrinterColumn("Sessions", ".status.activeSessions", "integer"),
        PrinterColumn("Age", ".metadata.creationTimestamp", "date"),
    ),
)
