"""The GoBGP policy one BGPRoutePolicy becomes on this node (pure).

- Statements keep their order; GoBGP evaluates them in order and the first one whose
  conditions match decides (Accept or Reject). A statement without ``prefixSet``
  matches every route.
- ``prefixSet`` entries become one GoBGP prefix set per statement; an unset
  ``maskLengthMin`` is the CIDR's own length, an unset ``maskLengthMax`` is
  ``maskLengthMin`` (so a bare CIDR matches exactly that prefix).
- ``peerSelector`` becomes a GoBGP neighbor set of the addresses of this node's
  neighbors whose endpoints match, added to every statement's conditions. When it
  matches no neighbor, the policy is not installed at all: it applies to no peer, never
  silently to all (GoBGP treats an empty neighbor set as matching everyone).
- Routes no statement decides on fall through to the next policy of the same
  direction; policies of one direction are evaluated in the order of their names, and
  routes none decides on are accepted.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from bgpctl.api.v1alpha1.routepolicy import BGPRoutePolicySpec
from bgpctl.controllers.gobgppolicy import VersionedPolicy, short_name, versioned
from bgpctl.gobgp.policy import (
    Actions,
    Conditions,
    DefinedSet,
    DefinedType,
    MatchSet,
    PolicyDirection,
    PrefixMatch,
    RouteAction,
    Statement,
)
from bgpctl.gobgp.types import IPAddress

PART = "rp"


@dataclass(frozen=True, slots=True)
class PolicyOutcome:
    """This node's result for one route policy (becomes its ``status.nodes[]`` entry)."""

    applied: bool
    reason: str
    message: str
    peers: int
    generation: int


def direction(spec: BGPRoutePolicySpec) -> PolicyDirection:
    """IMPORT or EXPORT."""
    return PolicyDirection.IMPORT if spec.type == "Import" else PolicyDirection.EXPORT


def build(
    name: str, spec: BGPRoutePolicySpec, peers: frozenset[IPAddress] | None
) -> VersionedPolicy:
    """The versioned GoBGP policy; ``peers`` None = no peerSelector (must not be empty)."""
    if peers is not None and not peers:
        raise ValueError("a peerSelector policy needs at least one neighbor")
    sets: dict[str, DefinedSet] = {}
    neighbor_set = None
    if peers is not None:
        sets["n"] = DefinedSet(
            DefinedType.NEIGHBOR,
            "n",
            items=tuple(f"{a}/{a.max_prefixlen}" for a in sorted(peers, key=str)),
        )
        neighbor_set = MatchSet("n")
    statements = []
    for i, statement in enumerate(spec.statements):
        prefix_set = None
        if statement.prefix_set:
            matches = tuple(
                PrefixMatch(ipaddress.ip_network(m.cidr), m.mask_length_min, m.mask_length_max)
                for m in statement.prefix_set
            )
            sets[f"s{i}"] = DefinedSet(DefinedType.PREFIX, f"s{i}", prefixes=matches)
            prefix_set = MatchSet(f"s{i}")
        action = RouteAction.ACCEPT if statement.action == "Accept" else RouteAction.REJECT
        statements.append(
            Statement(
                conditions=Conditions(prefix_set=prefix_set, neighbor_set=neighbor_set),
                actions=Actions(route_action=action),
            )
        )
    return versioned(short_name(PART, name), sets, statements)
