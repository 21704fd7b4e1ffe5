"""Policy types <-> protobuf: defined sets (with GoBGP's literal mask bounds),
statements, policies and assignments. Server behaviour is in test_gobgpd_policy.
"""

from __future__ import annotations

import ipaddress

import pytest

from bgpctl.gobgp._proto import policy_pb2
from bgpctl.gobgp.convert_policy import (
    assignment_from_pb,
    assignment_to_pb,
    defined_set_from_pb,
    defined_set_to_pb,
    policy_from_pb,
    policy_to_pb,
)
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
from bgpctl.gobgp.types import IPV6_UNICAST

NET6 = ipaddress.ip_network("2001:db8:1::/48")
NET4 = ipaddress.ip_network("192.0.2.0/24")


@pytest.mark.parametrize(
    ("entry", "bounds"),
    [
        (PrefixMatch(NET6), (48, 48)),
        (PrefixMatch(NET6, max_len=64), (48, 64)),
        (PrefixMatch(NET4, min_len=24, max_len=32), (24, 32)),
        (PrefixMatch(NET4, min_len=28), (28, 28)),
    ],
)
def test_prefix_bounds_default_to_the_prefix_length(
    entry: PrefixMatch, bounds: tuple[int, int]
) -> None:
    message = defined_set_to_pb(DefinedSet(DefinedType.PREFIX, "s", prefixes=(entry,)))
    p = message.prefixes[0]
    assert (p.mask_length_min, p.mask_length_max) == bounds


@pytest.mark.parametrize(
    ("prefix", "low", "high"),
    [(NET4, None, 33), (NET6, 64, 56), (NET4, -1, 24)],
    ids=["too-long", "empty-range", "negative"],
)
def test_invalid_bounds_are_rejected(
    prefix: ipaddress.IPv4Network, low: int | None, high: int
) -> None:
    with pytest.raises(ValueError, match="invalid mask range"):
        PrefixMatch(prefix, low, high)


def test_default_bounds_compare_equal_to_explicit_ones() -> None:
    assert PrefixMatch(NET6) == PrefixMatch(NET6, 48, 48)
    assert PrefixMatch(NET6, max_len=64) == PrefixMatch(NET6, 48, 64)


def test_defined_set_round_trip_with_explicit_bounds() -> None:
    defined = DefinedSet(
        DefinedType.PREFIX, "s", prefixes=(PrefixMatch(NET6, 48, 64), PrefixMatch(NET6, 48, 48))
    )
    assert defined_set_from_pb(defined_set_to_pb(defined)) == defined
    neighbors = DefinedSet(DefinedType.NEIGHBOR, "n", items=("2001:db8:ab::2/128",))
    assert defined_set_from_pb(defined_set_to_pb(neighbors)) == neighbors


def test_policy_round_trip_with_every_condition_and_action() -> None:
    policy = Policy(
        "p",
        (
            Statement(
                "p-1",
                Conditions(
                    prefix_set=MatchSet("ps", MatchType.INVERT),
                    neighbor_set=MatchSet("ns"),
                    as_path_set=MatchSet("as", MatchType.ALL),
                    community_set=MatchSet("cs"),
                    large_community_set=MatchSet("ls"),
                    next_hop_in=("2001:db8:ab::1/128",),
                    families=(IPV6_UNICAST,),
                ),
                Actions(
                    route_action=RouteAction.ACCEPT,
                    community=CommunityAction(CommunityActionType.ADD, ("65001:100",)),
                    large_community=CommunityAction(CommunityActionType.REPLACE, ("1:2:3",)),
                    med=MedAction(MedActionType.MOD, -10),
                    local_pref=300,
                    as_prepend=AsPrependAction(65001, 2),
                    next_hop=NextHopAction(address=ipaddress.ip_address("2001:db8:ab::1")),
                ),
            ),
            Statement(
                "p-2", actions=Actions(RouteAction.REJECT, next_hop=NextHopAction(self_=True))
            ),
        ),
    )
    assert policy_from_pb(policy_to_pb(policy)) == policy


def test_unset_conditions_encode_as_absent_and_decode_as_none() -> None:
    message = policy_to_pb(Policy("p", (Statement(),)))
    statement = message.statements[0]
    assert not statement.conditions.HasField("prefix_set")
    assert not statement.actions.HasField("community")
    assert not statement.actions.HasField("local_pref")
    # GoBGP may report an unset set as an empty MatchSet: still "no condition".
    statement.conditions.prefix_set.CopyFrom(policy_pb2.MatchSet())
    assert policy_from_pb(message).statements[0] == Statement()


def test_assignment_round_trip_references_policies_by_name() -> None:
    assignment = PolicyAssignment(
        PolicyDirection.EXPORT, ("a", "b"), default_action=RouteAction.REJECT
    )
    message = assignment_to_pb(assignment)
    assert message.name == "global"
    assert [p.name for p in message.policies] == ["a", "b"]
    assert not message.policies[0].statements
    assert assignment_from_pb(message) == assignment


def test_unknown_direction_is_a_conversion_error() -> None:
    with pytest.raises(ConversionError):
        assignment_from_pb(policy_pb2.PolicyAssignment(name="global"))
