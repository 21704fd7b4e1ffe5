"""Pure conversions between ``bgpctl.gobgp.policy`` types and GoBGP's policy messages.

Decoding treats an absent or unnamed ``MatchSet`` and an absent action as "not set", which
is how GoBGP reports them in ListPolicy/ListStatement. Prefix-set bounds are always sent
explicitly (see ``PrefixMatch``), so a listed set compares equal to the one added as long
as the caller also wrote them out or used the defaults.
"""

from __future__ import annotations

import ipaddress

from bgpctl.gobgp._proto import policy_pb2 as pb
from bgpctl.gobgp.convert import family_from_pb, family_to_pb
from bgpctl.gobgp.errors import ConversionError
from bgpctl.gobgp.policy import (
    Actions,
    AsPrependAction,
    CommunityAction,
    CommunityActionType,
    Conditions,
    DefinedSet,
    DefinedType,
    MatchSet,
    MatchType,
    MedAction,
    MedActionType,
    NextHopAction,
    Policy,
    PolicyAssignment,
    PolicyDirection,
    PrefixMatch,
    RouteAction,
    Statement,
)

# -- defined sets ---------------------------------------------------------------------


def defined_set_to_pb(defined: DefinedSet) -> pb.DefinedSet:
    """Encode a defined set, with explicit mask bounds on every prefix entry."""
    prefixes = []
    for entry in defined.prefixes:
        low, high = entry.bounds()
        prefixes.append(
            pb.Prefix(ip_prefix=str(entry.prefix), mask_length_min=low, mask_length_max=high)
        )
    return pb.DefinedSet(
        defined_type=pb.DefinedType.ValueType(defined.type),
        name=defined.name,
        list=list(defined.items),
        prefixes=prefixes,
    )


def defined_set_from_pb(message: pb.DefinedSet) -> DefinedSet:
    """Decode a listed defined set (bounds come back explicit).

    Raises:
        ConversionError: Unknown set type or malformed prefix.
    """
    try:
        return DefinedSet(
            type=DefinedType(message.defined_type),
            name=message.name,
            prefixes=tuple(
                PrefixMatch(ipaddress.ip_network(p.ip_prefix), p.mask_length_min, p.mask_length_max)
                for p in message.prefixes
            ),
            items=tuple(message.list),
        )
    except ValueError as exc:
        raise ConversionError(f"malformed defined set {message.name!r}: {exc}") from exc


# -- statements -----------------------------------------------------------------------


def _match_to_pb(match: MatchSet | None) -> pb.MatchSet | None:
    if match is None:
        return None
    return pb.MatchSet(name=match.name, type=pb.MatchSet.Type.ValueType(match.type))


def _match_from_pb(match: pb.MatchSet) -> MatchSet | None:
    # Unset and unnamed both mean "no condition" (an unset submessage reads as empty).
    return MatchSet(match.name, MatchType(match.type)) if match.name else None


def _community_to_pb(action: CommunityAction | None) -> pb.CommunityAction | None:
    if action is None:
        return None
    return pb.CommunityAction(
        type=pb.CommunityAction.Type.ValueType(action.type), communities=list(action.communities)
    )


def _community_from_pb(action: pb.CommunityAction) -> CommunityAction | None:
    # GoBGP omits empty community actions, so "no communities" means "not set".
    if not action.communities:
        return None
    return CommunityAction(CommunityActionType(action.type), tuple(action.communities))


def conditions_to_pb(conditions: Conditions) -> pb.Conditions:
    """Encode a statement's conditions."""
    return pb.Conditions(
        prefix_set=_match_to_pb(conditions.prefix_set),
        neighbor_set=_match_to_pb(conditions.neighbor_set),
        as_path_set=_match_to_pb(conditions.as_path_set),
        community_set=_match_to_pb(conditions.community_set),
        large_community_set=_match_to_pb(conditions.large_community_set),
        next_hop_in_list=list(conditions.next_hop_in),
        afi_safi_in=[family_to_pb(f) for f in conditions.families],
    )


def conditions_from_pb(message: pb.Conditions) -> Conditions:
    """Decode a statement's conditions."""
    return Conditions(
        prefix_set=_match_from_pb(message.prefix_set),
        neighbor_set=_match_from_pb(message.neighbor_set),
        as_path_set=_match_from_pb(message.as_path_set),
        community_set=_match_from_pb(message.community_set),
        large_community_set=_match_from_pb(message.large_community_set),
        next_hop_in=tuple(message.next_hop_in_list),
        families=tuple(family_from_pb(f) for f in message.afi_safi_in),
    )


def actions_to_pb(actions: Actions) -> pb.Actions:
    """Encode a statement's actions."""
    out = pb.Actions(
        route_action=pb.RouteAction.ValueType(actions.route_action),
        community=_community_to_pb(actions.community),
        large_community=_community_to_pb(actions.large_community),
    )
    if actions.med is not None:
        out.med.CopyFrom(
            pb.MedAction(
                type=pb.MedAction.Type.ValueType(actions.med.type), value=actions.med.value
            )
        )
    if actions.local_pref is not None:
        out.local_pref.value = actions.local_pref
    if actions.as_prepend is not None:
        p = actions.as_prepend
        out.as_prepend.CopyFrom(
            pb.AsPrependAction(asn=p.asn, repeat=p.repeat, use_left_most=p.use_left_most)
        )
    if actions.next_hop is not None:
        n = actions.next_hop
        out.nexthop.CopyFrom(
            pb.NexthopAction(
                address=str(n.address) if n.address else "", self=n.self_, unchanged=n.unchanged
            )
        )
    return out


def actions_from_pb(message: pb.Actions) -> Actions:
    """Decode a statement's actions."""
    med = (
        MedAction(MedActionType(message.med.type), message.med.value)
        if message.HasField("med")
        else None
    )
    prepend = (
        AsPrependAction(
            message.as_prepend.asn, message.as_prepend.repeat, message.as_prepend.use_left_most
        )
        if message.HasField("as_prepend")
        else None
    )
    next_hop = None
    if message.HasField("nexthop"):
        n = message.nexthop
        address = ipaddress.ip_address(n.address) if n.address else None
        next_hop = NextHopAction(address=address, self_=n.self, unchanged=n.unchanged)
    return Actions(
        route_action=RouteAction(message.route_action),
        community=_community_from_pb(message.community),
        large_community=_community_from_pb(message.large_community),
        med=med,
        local_pref=message.local_pref.value if message.HasField("local_pref") else None,
        as_prepend=prepend,
        next_hop=next_hop,
    )


def statement_to_pb(statement: Statement) -> pb.Statement:
    """Encode a statement."""
    return pb.Statement(
        name=statement.name,
        conditions=conditions_to_pb(statement.conditions),
        actions=actions_to_pb(statement.actions),
    )


def statement_from_pb(message: pb.Statement) -> Statement:
    """Decode a statement.

    Raises:
        ConversionError: An enum value or address is not one bgpctl models.
    """
    try:
        return Statement(
            name=message.name,
            conditions=conditions_from_pb(message.conditions),
            actions=actions_from_pb(message.actions),
        )
    except ValueError as exc:
        raise ConversionError(f"malformed statement {message.name!r}: {exc}") from exc


# -- policies and assignments -----------------------------------------------------------


def policy_to_pb(policy: Policy) -> pb.Policy:
    """Encode a policy with its statements."""
    return pb.Policy(name=policy.name, statements=[statement_to_pb(s) for s in policy.statements])


def policy_from_pb(message: pb.Policy) -> Policy:
    """Decode a listed policy."""
    return Policy(message.name, tuple(statement_from_pb(s) for s in message.statements))


def assignment_to_pb(assignment: PolicyAssignment) -> pb.PolicyAssignment:
    """Encode an assignment (policies are referenced by name only)."""
    return pb.PolicyAssignment(
        name=assignment.name,
        direction=pb.PolicyDirection.ValueType(assignment.direction),
        policies=[pb.Policy(name=n) for n in assignment.policies],
        default_action=pb.RouteAction.ValueType(assignment.default_action),
    )


def assignment_from_pb(message: pb.PolicyAssignment) -> PolicyAssignment:
    """Decode a listed assignment.

    Raises:
        ConversionError: Unknown direction or action.
    """
    try:
        return PolicyAssignment(
            direction=PolicyDirection(message.direction),
            policies=tuple(p.name for p in message.policies),
            name=message.name,
            default_action=RouteAction(message.default_action),
        )
    except ValueError as exc:
        raise ConversionError(f"malformed assignment {message.name!r}: {exc}") from exc
