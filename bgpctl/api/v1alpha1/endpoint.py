"""BGPEndpoint: a BGP speaker at an address with an AS (a node or an external router)."""

from __future__ import annotations

from bgpctl.api.meta import AddressFamilyList, ConditionList
from bgpctl.api.resource import Kind, PrinterColumn
from bgpctl.api.schema import ApiModel, ASNumber, IPAddress, Port


class BGPEndpointSpec(ApiModel):
    """Where a speaker lives. Labels on the endpoint are what peering policies select."""

    address: IPAddress
    """The speaker's IPv4 or IPv6 address (the session's transport address)."""
    as_number: ASNumber
    """The speaker's AS number."""
    port: Port | None = None
    """TCP port the speaker listens on; defaults to the BGPConfiguration listenPort.
    Set 179 for external routers."""
    address_families: AddressFamilyList | None = None
    """Families to negotiate with this speaker (default: the address's own family plus
    the cluster's families)."""


class BGPEndpointStatus(ApiModel):
    """Observed state of an endpoint."""

    conditions: ConditionList = []
    """Conditions reported by the node that owns the endpoint."""


BGP_ENDPOINT: Kind[BGPEndpointSpec, BGPEndpointStatus] = Kind(
    kind="BGPEndpoint",
    plural="bgpendpoints",
    short_names=("bgpep",),
    spec=BGPEndpointSpec,
    status=BGPEndpointStatus,
    description="A BGP speaker: an address with an AS number.",
    columns=(
        PrinterColumn("Address", ".spec.address"),
        PrinterColumn("ASN", ".spec.asNumber", "integer"),
        PrinterColumn("Age", ".metadata.creationTimestamp", "date"),
    ),
)
