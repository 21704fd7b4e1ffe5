"""Building the GoBGP neighbor of a session, seen from either end (pure functions)."""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any

import pytest

from bgpctl.api.v1alpha1.endpoint import BGPEndpointSpec
from bgpctl.api.v1alpha1.session import BGPSessionSpec
from bgpctl.controllers.sessionpeer import (
    CONNECT_RETRY,
    DEFAULT_FAMILIES,
    build_peer,
    description,
    endpoint_index,
    finalizer,
)
from bgpctl.gobgp.types import IPV4_UNICAST, Afi, Family, Safi

RR = BGPEndpointSpec.model_validate({"address": "2001:db8::1", "asNumber": 65000})
CLIENT = BGPEndpointSpec.model_validate({"address": "2001:db8::2", "asNumber": 65000, "port": 179})


def session(**extra: Any) -> BGPSessionSpec:
    return BGPSessionSpec.model_validate(
        {"localEndpoint": "rr", "remoteEndpoint": "client", **extra}
    )


def test_local_side_peers_with_remote_endpoint() -> None:
    peer = build_peer(
        session="s", spec=session(), me="rr", local=RR, remote=CLIENT, listen_port=1790
    )
    assert peer.neighbor_address == ip_address("2001:db8::2")
    assert peer.peer_asn == 65000
    assert peer.local_address == ip_address("2001:db8::1")
    assert peer.remote_port == 179  # the remote endpoint's own port wins
    assert (peer.hold_time, peer.keepalive_interval) == (90, 30)
    assert peer.connect_retry == CONNECT_RETRY
    assert peer.description == description("s")
    assert peer.families == DEFAULT_FAMILIES


def test_remote_side_peers_with_local_endpoint_on_listen_port() -> None:
    peer = build_peer(
        session="s", spec=session(), me="client", local=CLIENT, remote=RR, listen_port=1790
    )
    assert peer.neighbor_address == ip_address("2001:db8::1")
    assert peer.local_address == ip_address("2001:db8::2")
    assert peer.remote_port == 1790


def test_route_reflector_client_flag_only_on_reflector_side() -> None:
    spec = session(routeReflector={"clusterID": "10.0.0.1"})
    on_rr = build_peer(session="s", spec=spec, me="rr", local=RR, remote=CLIENT, listen_port=1790)
    on_client = build_peer(
        session="s", spec=spec, me="client", local=CLIENT, remote=RR, listen_port=1790
    )
    assert on_rr.route_reflector_client and on_rr.route_reflector_cluster_id == "10.0.0.1"
    assert not on_client.route_reflector_client and on_client.route_reflector_cluster_id == ""


def test_timers_and_ebgp_settings() -> None:
    spec = session(holdTime=9, keepaliveTime=3, ebgpConfig={"multiHop": {"ttl": 4}})
    peer = build_peer(session="s", spec=spec, me="rr", local=RR, remote=CLIENT, listen_port=1790)
    assert (peer.hold_time, peer.keepalive_interval) == (9, 3)
    assert (peer.ebgp_multihop_ttl, peer.ttl_security_min) == (4, 0)
    spec = session(ebgpConfig={"ttlSecurity": {"ttl": 2}})
    peer = build_peer(session="s", spec=spec, me="rr", local=RR, remote=CLIENT, listen_port=1790)
    assert (peer.ebgp_multihop_ttl, peer.ttl_security_min) == (0, 2)


def test_families_from_remote_endpoint_else_default() -> None:
    remote = BGPEndpointSpec.model_validate(
        {
            "address": "192.0.2.2",
            "asNumber": 65001,
            "addressFamilies": [{"afi": "IPv4"}, {"afi": "IPv6", "safi": "Multicast"}],
        }
    )
    peer = build_peer(
        session="s",
        spec=session(),
        me="rr",
        local=RR,
        remote=remote,
        listen_port=1790,
        default_families=(IPV4_UNICAST,),
    )
    assert peer.families == (IPV4_UNICAST, Family(Afi.IP6, Safi.MULTICAST))
    assert peer.local_address is None  # IPv6 endpoint, IPv4 neighbor: kernel chooses
    peer = build_peer(
        session="s",
        spec=session(),
        me="rr",
        local=RR,
        remote=CLIENT,
        listen_port=1790,
        default_families=(IPV4_UNICAST,),
    )
    assert peer.families == (IPV4_UNICAST,)


def test_uninvolved_node_cannot_build_a_peer() -> None:
    with pytest.raises(ValueError, match="not part of session"):
        build_peer(session="s", spec=session(), me="other", local=RR, remote=CLIENT, listen_port=1)


def test_index_and_finalizer_names() -> None:
    obj = {"spec": {"localEndpoint": "a", "remoteEndpoint": "b"}}
    assert endpoint_index(obj) == ["a", "b"]
    assert endpoint_index({}) == []
    assert finalizer("node-1") == "bgp.miloapis.com/session-node-1"
