"""The advertisement rules (pure): selection, winners and conflicts, next hops, restrictions."""

from __future__ import annotations

from ipaddress import ip_address, ip_network
from typing import Any

from bgpctl.api.meta import LabelSelector
from bgpctl.controllers.advertplan import PATH_TAG, Advert, communities, large_communities, plan
from bgpctl.gobgp.types import IPAddress

NH = ip_address("2001:db8:ad::1")
PEERS = frozenset({ip_address("2001:db8:ad::2")})


def advert(name: str, created: str, **spec: Any) -> Advert:
    raw = {
        "apiVersion": "bgp.miloapis.com/v1alpha1",
        "kind": "BGPAdvertisement",
        "metadata": {"name": name, "creationTimestamp": created, "generation": 3},
        "spec": spec,
    }
    return Advert.parse(raw)


def peers_for(selector: LabelSelector) -> frozenset[IPAddress]:
    return PEERS if selector.matches({"peer": "yes"}) else frozenset()


def test_paths_carry_attributes_tag_and_the_node_address_as_next_hop() -> None:
    a = advert(
        "a",
        "2026-01-01T00:00:00Z",
        prefixes=["2001:db8:1::/48", "203.0.113.0/24"],
        communities=["65000:100", "no-export", "blackhole"],
        largeCommunities=["4200000000:1:2"],
        localPref=200,
        med=7,
    )
    result = plan([a], node_labels={}, next_hop=NH, peers_for=peers_for)
    v4 = result.paths[ip_network("203.0.113.0/24")]
    assert v4.next_hops == (NH,), "an IPv4 prefix from an IPv6 node: RFC 5549 next hop"
    assert v4.identifier == PATH_TAG
    assert v4.communities == ((65000, 100), (0xFFFF, 0xFF01), (0xFFFF, 0x029A))
    assert v4.large_communities == ((4200000000, 1, 2),)
    assert (v4.local_pref, v4.med) == (200, 7)
    assert result.outcomes["a"].advertised and result.outcomes["a"].prefixes == 2
    assert result.outcomes["a"].reason == "Advertised" and result.outcomes["a"].generation == 3
    assert result.restrictions == ()


def test_node_selector_skips_this_node() -> None:
    a = advert("a", "t", prefixes=["2001:db8:1::/48"], nodeSelector={"matchLabels": {"x": "y"}})
    result = plan([a], node_labels={"x": "z"}, next_hop=NH, peers_for=peers_for)
    assert result.paths == {} and result.outcomes == {}


def test_oldest_wins_a_conflict_and_identical_attributes_share() -> None:
    old = advert("zz-old", "2026-01-01T00:00:00Z", prefixes=["2001:db8:1::/48"], med=1)
    new = advert(
        "aa-new", "2026-02-01T00:00:00Z", prefixes=["2001:db8:1::/48", "2001:db8:2::/48"], med=2
    )
    same = advert("mm-same", "2026-03-01T00:00:00Z", prefixes=["2001:db8:1::/48"], med=1)
    result = plan([new, same, old], node_labels={}, next_hop=NH, peers_for=peers_for)
    assert result.paths[ip_network("2001:db8:1::/48")].med == 1
    assert result.owners[ip_network("2001:db8:1::/48")] == "zz-old"
    lost = result.outcomes["aa-new"]
    assert not lost.advertised and lost.reason == "Conflict" and "'zz-old'" in lost.message
    assert lost.prefixes == 1, "its other prefix is still originated"
    shared = result.outcomes["mm-same"]
    assert shared.advertised and shared.reason == "Advertised" and shared.prefixes == 1


def test_same_prefix_with_another_peer_selector_conflicts() -> None:
    old = advert("old", "1", prefixes=["2001:db8:1::/48"])
    new = advert(
        "new", "2", prefixes=["2001:db8:1::/48"], peerSelector={"matchLabels": {"peer": "yes"}}
    )
    result = plan([old, new], node_labels={}, next_hop=NH, peers_for=peers_for)
    assert result.outcomes["new"].reason == "Conflict"
    assert result.restrictions == (), "the unrestricted winner decides"


def test_peer_selector_restricts_and_reports_no_match() -> None:
    yes = advert(
        "yes", "1", prefixes=["2001:db8:1::/48"], peerSelector={"matchLabels": {"peer": "yes"}}
    )
    none = advert(
        "none", "2", prefixes=["2001:db8:2::/48"], peerSelector={"matchLabels": {"peer": "x"}}
    )
    result = plan([yes, none], node_labels={}, next_hop=NH, peers_for=peers_for)
    by_name = {r.advertisement: r for r in result.restrictions}
    assert by_name["yes"].peers == PEERS
    assert by_name["none"].peers == frozenset(), "nobody may receive it"
    assert (
        result.outcomes["none"].reason == "NoMatchingPeers" and result.outcomes["none"].advertised
    )


def test_community_text_forms() -> None:
    assert communities(["1:2", "no-peer", "graceful-shutdown"]) == (
        (1, 2),
        (0xFFFF, 0xFF04),
        (0xFFFF, 0),
    )
    assert large_communities(["1:2:3"]) == ((1, 2, 3),)
