"""BGPAdvertisement: prefixes to originate, with communities and path attributes."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bgpctl.api.meta import ConditionList, LabelSelector
from bgpctl.api.resource import Kind, PrinterColumn
from bgpctl.api.schema import CIDR, ApiModel, Count, LargeCommunity, StandardCommunity, Uint32, k8s
from bgpctl.api.v1alpha1.nodestatus import NodeList, NodeOutcome, ObservedGeneration

_SET = k8s(**{"x-kubernetes-list-type": "set"})


class BGPAdvertisementSpec(ApiModel):
    """What to advertise and to whom."""

    prefixes: Annotated[list[CIDR], Field(min_length=1, max_length=1024), _SET]
    """IPv4 and/or IPv6 prefixes in canonical CIDR form."""
    peer_selector: LabelSelector | None = None
    """Advertise only over sessions to endpoints with these labels (default: all peers)."""
    node_selector: LabelSelector | None = None
    """Originate only on the nodes whose BGPEndpoint has these labels (default: all)."""
    communities: Annotated[list[StandardCommunity] | None, Field(max_length=64), _SET] = None
    """Standard communities to attach, as ASN:value or a well-known name."""
    large_communities: Annotated[list[LargeCommunity] | None, Field(max_length=64), _SET] = None
    """Large communities to attach, as globalAdmin:localData1:localData2."""
    local_pref: Uint32 | None = None
    """LOCAL_PREF to attach (iBGP only)."""
    med: Uint32 | None = None
    """MULTI_EXIT_DISC to attach."""


class AdvertisementNodeStatus(NodeOutcome):
    """One node's outcome for the advertisement, written only by that node."""

    advertised: bool = False
    """Whether this node originates every prefix of the advertisement."""
    advertised_prefixes: Count = 0
    """Prefixes of this advertisement the node originates."""


class BGPAdvertisementStatus(ApiModel):
    """Observed state of the advertisement."""

    conditions: ConditionList = []
    """Advertised, with the reason when not."""
    advertised_prefix_count: Count | None = None
    """Distinct prefixes of this advertisement originated by at least one node."""
    observed_generation: ObservedGeneration = None
    """The metadata.generation the aggregate status was computed from."""
    nodes: NodeList[AdvertisementNodeStatus] = []
    """Per-node outcome; each node owns its own entry."""


BGP_ADVERTISEMENT: Kind[BGPAdvertisementSpec, BGPAdvertisementStatus] = Kind(
    kind="BGPAdvertisement",
    plural="bgpadvertisements",
    short_names=("bgpadvert",),
    spec=BGPAdvertisementSpec,
    status=BGPAdvertisementStatus,
    description="Prefixes to originate over BGP, with communities and attributes.",
    columns=(
        PrinterColumn("Prefixes", ".status.advertisedPrefixCount", "integer"),
        PrinterColumn("Advertised", '.status.conditions[?(@.type=="Advertised")].status'),
        PrinterColumn("Age", ".metadata.creationTimestamp", "date"),
    ),
)
