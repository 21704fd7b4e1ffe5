"""bgp.miloapis.com/v1alpha1: the six cluster-scoped kinds of bgpctl."""

from bgpctl.api.resource import API_VERSION, GROUP, VERSION, Kind
from bgpctl.api.v1alpha1.advertisement import BGP_ADVERTISEMENT
from bgpctl.api.v1alpha1.configuration import BGP_CONFIGURATION
from bgpctl.api.v1alpha1.endpoint import BGP_ENDPOINT
from bgpctl.api.v1alpha1.peeringpolicy import BGP_PEERING_POLICY
from bgpctl.api.v1alpha1.routepolicy import BGP_ROUTE_POLICY
from bgpctl.api.v1alpha1.session import BGP_SESSION

ALL_KINDS: tuple[Kind, ...] = (  # type: ignore[type-arg]
    BGP_CONFIGURATION,
    BGP_ENDPOINT,
    BGP_SESSION,
    BGP_PEERING_POLICY,
    BGP_ADVERTISEMENT,
    BGP_ROUTE_POLICY,
)

__all__ = [
    "ALL_KINDS",
    "API_VERSION",
    "BGP_ADVERTISEMENT",
    "BGP_CONFIGURATION",
    "BGP_ENDPOINT",
    "BGP_PEERING_POLICY",
    "BGP_ROUTE_POLICY",
    "BGP_SESSION",
    "GROUP",
    "VERSION",
]
