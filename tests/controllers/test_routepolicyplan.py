"""A BGPRoutePolicy as a versioned GoBGP policy (pure)."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import pytest

from bgpctl.api.v1alpha1 import BGP_ROUTE_POLICY
from bgpctl.api.v1alpha1.routepolicy import BGPRoutePolicySpec
from bgpctl.controllers.gobgppolicy import short_name
from bgpctl.controllers.routepolicyplan import build
from bgpctl.gobgp.policy import DefinedType, MatchType, PrefixMatch, RouteAction


def spec(**fields: object) -> BGPRoutePolicySpec:
    raw = {
        "apiVersion": "bgp.miloapis.com/v1alpha1",
        "kind": "BGPRoutePolicy",
        "metadata": {"name": "p"},
        "spec": fields,
    }
    return BGP_ROUTE_POLICY.parse(raw).spec


def test_statements_in_order_with_mask_ranges() -> None:
    s = spec(
        type="Import",
        statements=[
            {"action": "Reject", "prefixSet": [{"cidr": "2001:db8::/32", "maskLengthMax": 48}]},
            {"action": "Accept", "prefixSet": [{"cidr": "203.0.113.0/24"}]},
            {"action": "Reject"},
        ],
    )
    policy = build("p", s, None)
    assert policy.name.startswith(short_name("rp", "p") + "-")
    actions = [st.actions.route_action for st in policy.statements]
    assert actions == [RouteAction.REJECT, RouteAction.ACCEPT, RouteAction.REJECT]
    sets = {d.name: d for d in policy.sets}
    first = sets[policy.statements[0].conditions.prefix_set.name]  # type: ignore[union-attr]
    assert first.type == DefinedType.PREFIX
    assert first.prefixes == (PrefixMatch(ip_network("2001:db8::/32"), 32, 48),)
    second = sets[policy.statements[1].conditions.prefix_set.name]  # type: ignore[union-attr]
    assert second.prefixes[0].bounds() == (24, 24), "unset bounds: exactly the CIDR"
    assert policy.statements[2].conditions.prefix_set is None
    assert all(st.conditions.neighbor_set is None for st in policy.statements)


def test_peer_selector_becomes_a_neighbor_set_on_every_statement() -> None:
    s = spec(type="Export", statements=[{"action": "Accept"}, {"action": "Reject"}])
    peers = frozenset({ip_address("2001:db8::2"), ip_address("192.0.2.1")})
    policy = build("p", s, peers)
    neighbor_sets = [d for d in policy.sets if d.type == DefinedType.NEIGHBOR]
    assert len(neighbor_sets) == 1 and set(neighbor_sets[0].items) == {
        "2001:db8::2/128",
        "192.0.2.1/32",
    }
    for st in policy.statements:
        assert st.conditions.neighbor_set is not None
        assert st.conditions.neighbor_set.name == neighbor_sets[0].name
        assert st.conditions.neighbor_set.type == MatchType.ANY


def test_empty_peer_set_is_refused() -> None:
    s = spec(type="Export", statements=[{"action": "Accept"}])
    with pytest.raises(ValueError, match="at least one neighbor"):
        build("p", s, frozenset())


def test_version_changes_with_content_only() -> None:
    s1 = spec(
        type="Import", statements=[{"action": "Reject", "prefixSet": [{"cidr": "2001:db8::/32"}]}]
    )
    s2 = spec(
        type="Import", statements=[{"action": "Reject", "prefixSet": [{"cidr": "2001:db8::/33"}]}]
    )
    assert build("p", s1, None).name == build("p", s1, None).name
    assert build("p", s1, None).name != build("p", s2, None).name
    peers = frozenset({ip_address("2001:db8::2")})
    assert build("p", s1, peers).name != build("p", s1, None).name
    long = build("x" * 253, s1, None)
    assert len(long.name) < 80 and all(d.name.startswith(long.name) for d in long.sets)
