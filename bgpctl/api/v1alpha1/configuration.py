"""BGPConfiguration: the cluster's BGP speaker identity (AS, port, router ID).

A singleton: the only accepted name is ``default`` (the Go original acted on every
object of the kind and restarted GoBGP back and forth when there were several).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from bgpctl.api.meta import AddressFamilyList, ConditionList
from bgpctl.api.resource import Kind, PrinterColumn
from bgpctl.api.schema import ApiModel, ASNumber, IPv4Address, Port, cel, k8s, rules


class BGPConfigurationSpec(ApiModel):
    """Desired speaker settings, shared by every node."""

    model_config = rules(
        cel(
            "self.routerIDSource != 'Manual' || has(self.routerID)",
            "routerID is required when routerIDSource is Manual",
            field_path=".routerID",
        )
    )

    as_number: ASNumber
    """The local AS number of every node's speaker."""
    listen_port: Port = 1790
    """TCP port the speakers listen on (179 is the BGP standard; 1790 avoids clashes)."""
    router_id_source: Literal["NodeIP", "Manual"] = Field(default="NodeIP", alias="routerIDSource")
    """Where the router ID comes from: the node's endpoint address, or routerID."""
    router_id: IPv4Address | None = Field(default=None, alias="routerID")
    """The router ID when routerIDSource is Manual (dotted IPv4)."""
    address_families: Annotated[AddressFamilyList | None, k8s()] = None
    """Families the speakers enable by default (IPv4 and IPv6 unicast when empty)."""


class NodeSpeakerStatus(ApiModel):
    """One node's view of its speaker, written only by that node."""

    node: Annotated[str, Field(max_length=253)]
    """Name of the node's BGPEndpoint."""
    ready: bool = False
    """Whether the node's GoBGP runs with this configuration."""
    router_id: str | None = Field(default=None, alias="routerID")
    """The router ID the node's speaker uses."""
    message: Annotated[str | None, Field(max_length=1024)] = None
    """Why the speaker is not ready, when it is not."""


class BGPConfigurationStatus(ApiModel):
    """Observed state of the speakers."""

    conditions: ConditionList = []
    """Ready: every node that reported runs this configuration."""
    observed_as_number: Annotated[int | None, k8s(format="int64")] = Field(
        default=None, alias="observedASNumber"
    )
    """The AS number every ready node runs."""
    observed_router_id: str | None = Field(default=None, alias="observedRouterID")
    """The router ID every ready node runs, when they agree (Manual source)."""
    nodes: Annotated[
        list[NodeSpeakerStatus],
        Field(max_length=5000),
        k8s(**{"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["node"]}),
    ] = []
    """Per-node speaker state; each node owns its own entry."""


BGP_CONFIGURATION: Kind[BGPConfigurationSpec, BGPConfigurationStatus] = Kind(
    kind="BGPConfiguration",
    plural="bgpconfigurations",
    short_names=("bgpconfig",),
    spec=BGPConfigurationSpec,
    status=BGPConfigurationStatus,
    description="Cluster-wide BGP speaker settings. A singleton named 'default'.",
    columns=(
        PrinterColumn("AS", ".spec.asNumber", "integer"),
        PrinterColumn("Port", ".spec.listenPort", "integer"),
        PrinterColumn("RouterID", ".spec.routerIDSource"),
        PrinterColumn("Ready", '.status.conditions[?(@.type=="Ready")].status'),
        PrinterColumn("Age", ".metadata.creationTimestamp", "date"),
    ),
    rules=(cel("self.metadata.name == 'default'", "the BGPConfiguration must be named 'default'"),),
)
