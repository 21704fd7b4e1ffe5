"""BGPRoutePolicy: ordered accept/reject statements over prefixes, for import or export.

Statements are evaluated in order, first match wins; a statement without prefixSet
matches every route. Routes that match no statement are accepted.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from bgpctl.api.meta import ConditionList, LabelSelector
from bgpctl.api.resource import Kind, PrinterColumn
from bgpctl.api.schema import CIDR, ApiModel, Count, MaskLength, cel, k8s, rules
from bgpctl.api.v1alpha1.nodestatus import NodeList, NodeOutcome, ObservedGeneration

_FAMILY_LEN = "(cidr(self.cidr).ip().family() == 4 ? 32 : 128)"


class PrefixMatch(ApiModel):
    """Match routes inside ``cidr`` whose length is within [maskLengthMin, maskLengthMax].

    Unset bounds default to the CIDR's own length (an exact match), not to 0 as in
    GoBGP's API, where 0/0 matches only a default route.
    """

    model_config = rules(
        cel(
            "!has(self.maskLengthMin) || !has(self.maskLengthMax) "
            "|| self.maskLengthMin <= self.maskLengthMax",
            "maskLengthMin must not exceed maskLengthMax",
            field_path=".maskLengthMin",
        ),
        cel(
            f"!isCIDR(self.cidr) || !has(self.maskLengthMax) "
            f"|| self.maskLengthMax <= {_FAMILY_LEN}",
            "maskLengthMax must not exceed the prefix family's length (32 or 128)",
            field_path=".maskLengthMax",
        ),
        cel(
            f"!isCIDR(self.cidr) || !has(self.maskLengthMin) "
            f"|| self.maskLengthMin <= {_FAMILY_LEN}",
            "maskLengthMin must not exceed the prefix family's length (32 or 128)",
            field_path=".maskLengthMin",
        ),
        cel(
            "!isCIDR(self.cidr) || !has(self.maskLengthMin) "
            "|| self.maskLengthMin >= cidr(self.cidr).prefixLength()",
            "maskLengthMin must be at least the cidr's prefix length",
            field_path=".maskLengthMin",
        ),
    )

    cidr: CIDR
    """The covering prefix."""
    mask_length_min: MaskLength | None = None
    """Shortest matching prefix length (default: the cidr's length)."""
    mask_length_max: MaskLength | None = None
    """Longest matching prefix length (default: maskLengthMin, or the cidr's length)."""


class PolicyStatement(ApiModel):
    """One rule: if the route matches prefixSet (or always, without one), take action."""

    action: Literal["Accept", "Reject"]
    """What to do with a matching route."""
    prefix_set: Annotated[
        list[PrefixMatch] | None,
        Field(max_length=256),
        k8s(**{"x-kubernetes-list-type": "atomic"}),
    ] = None
    """Prefixes the route must match (any of them)."""


class BGPRoutePolicySpec(ApiModel):
    """An import or export policy."""

    type: Literal["Import", "Export"]
    """Import filters routes learned from peers; Export filters routes sent to peers."""
    peer_selector: LabelSelector | None = None
    """Apply only to sessions with endpoints carrying these labels (default: all)."""
    statements: Annotated[
        list[PolicyStatement],
        Field(min_length=1, max_length=64),
        k8s(**{"x-kubernetes-list-type": "atomic"}),
    ]
    """Rules evaluated in order; the first match decides."""


class RoutePolicyNodeStatus(NodeOutcome):
    """One node's outcome for the policy, written only by that node."""

    applied: bool = False
    """Whether the policy is in force in this node's speaker."""
    peers: Count = 0
    """Neighbors of this node the policy applies to."""


class BGPRoutePolicyStatus(ApiModel):
    """Observed state of the policy."""

    conditions: ConditionList = []
    """Applied, with the reason when not."""
    observed_generation: ObservedGeneration = None
    """The metadata.generation the aggregate status was computed from."""
    nodes: NodeList[RoutePolicyNodeStatus] = []
    """Per-node outcome; each node owns its own entry."""


BGP_ROUTE_POLICY: Kind[BGPRoutePolicySpec, BGPRoutePolicyStatus] = Kind(
    kind="BGPRoutePolicy",
    plural="bgproutepolicies",
    short_names=("bgprp",),
    spec=BGPRoutePolicySpec,
    status=BGPRoutePolicyStatus,
    description="Ordered accept/reject rules over prefixes, applied on import or export.",
    columns=(
        PrinterColumn("Type", ".spec.type"),
        PrinterColumn("Applied", '.status.conditions[?(@.type=="Applied")].status'),
        PrinterColumn("Age", ".metadata.creationTimestamp", "date"),
    ),
)
