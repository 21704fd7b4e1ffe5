"""Peer and global <-> protobuf conversion, including GoBGP's peer-event shape.

Covers which PeerConf/Transport/Timers fields a PeerSpec writes, decoding of ListPeer
entries and of peer events (no timers, "<nil>" router IDs, END_OF_INIT without address).
"""

from __future__ import annotations

import ipaddress

import pytest

from bgpctl.gobgp._proto import family_pb2, peer_pb2, service_pb2
from bgpctl.gobgp.convert import family_from_pb, family_to_pb, global_from_pb, global_to_pb
from bgpctl.gobgp.convert_peer import (
    peer_event_from_pb,
    peer_from_pb,
    peer_spec_from_pb,
    peer_to_pb,
)
from bgpctl.gobgp.errors import ConversionError
from bgpctl.gobgp.types import (
    IPV4_UNICAST,
    IPV6_UNICAST,
    AdminState,
    Family,
    Global,
    PeerEventType,
    PeerSpec,
    PeerType,
    SessionState,
)

NEIGHBOR = ipaddress.ip_address("2001:db8:ab::2")
SPEC = PeerSpec(
    neighbor_address=NEIGHBOR,
    peer_asn=65002,
    local_asn=65001,
    description="to b",
    auth_password="secret",
    families=(IPV6_UNICAST, IPV4_UNICAST),
    local_address=ipaddress.ip_address("2001:db8:ab::1"),
    remote_port=1790,
    passive=True,
    connect_retry=5,
    hold_time=9,
    keepalive_interval=3,
    ebgp_multihop_ttl=4,
    ttl_security_min=250,
    route_reflector_client=True,
    route_reflector_cluster_id="192.0.2.1",
    admin_down=True,
)
PeerEvt = service_pb2.WatchEventResponse.PeerEvent


def test_spec_round_trips() -> None:
    assert peer_spec_from_pb(peer_to_pb(SPEC)) == SPEC


def test_minimal_spec_leaves_optional_blocks_unset() -> None:
    message = peer_to_pb(PeerSpec(neighbor_address=NEIGHBOR, peer_asn=65001))
    assert not message.HasField("ebgp_multihop")
    assert not message.HasField("ttl_security")
    assert not message.HasField("route_reflector")
    assert message.transport.local_address == "::"  # what GoBGP would default it to
    assert message.conf.type == peer_pb2.INTERNAL
    assert [a.config.family.afi for a in message.afi_safis] == [2]


def test_spec_without_family_is_rejected() -> None:
    with pytest.raises(ConversionError):
        peer_to_pb(PeerSpec(neighbor_address=NEIGHBOR, peer_asn=1, families=()))


def test_listed_peer_state_and_counters() -> None:
    message = peer_to_pb(SPEC)
    message.state.neighbor_address = str(NEIGHBOR)
    message.state.peer_asn = 65002
    message.state.session_state = peer_pb2.PeerState.ESTABLISHED
    message.state.type = peer_pb2.EXTERNAL
    message.state.router_id = "198.51.100.2"
    message.state.flops = 2
    message.timers.state.uptime.seconds = 1_700_000_000
    message.afi_safis[0].state.family.CopyFrom(family_to_pb(IPV6_UNICAST))
    message.afi_safis[0].state.received = 7
    message.afi_safis[1].state.received = 3
    peer = peer_from_pb(message)
    assert peer.spec == SPEC
    state = peer.state
    assert state.established and state.session_state is SessionState.ESTABLISHED
    assert state.peer_type is PeerType.EXTERNAL
    assert (state.router_id, state.flops, state.uptime) == ("198.51.100.2", 2, 1_700_000_000.0)
    assert state.received_prefixes == 10
    assert [c.family for c in state.families] == [IPV6_UNICAST, IPV4_UNICAST]


def test_peer_event_without_timers_or_counters() -> None:
    event = PeerEvt(type=PeerEvt.STATE)
    event.peer.state.neighbor_address = "198.51.100.2"
    event.peer.state.session_state = peer_pb2.PeerState.OPENSENT
    event.peer.state.admin_state = peer_pb2.PeerState.DOWN
    event.peer.state.router_id = "<nil>"
    event.peer.transport.local_address = "<nil>"
    decoded = peer_event_from_pb(event)
    assert decoded is not None and decoded.peer is not None
    assert decoded.type is PeerEventType.STATE
    assert decoded.peer.neighbor_address == ipaddress.ip_address("198.51.100.2")
    assert decoded.peer.session_state is SessionState.OPENSENT
    assert decoded.peer.admin_state is AdminState.DOWN
    assert decoded.peer.router_id == "" and decoded.peer.local_address is None
    assert decoded.peer.families == () and decoded.peer.uptime is None


def test_end_of_init_has_no_peer() -> None:
    event = PeerEvt(type=PeerEvt.END_OF_INIT)
    event.peer.state.neighbor_address = "<nil>"
    decoded = peer_event_from_pb(event)
    assert decoded is not None
    assert (decoded.type, decoded.peer) == (PeerEventType.END_OF_INIT, None)


def test_unknown_event_type_is_ignored() -> None:
    assert peer_event_from_pb(PeerEvt(type=PeerEvt.UNKNOWN)) is None


def test_global_round_trips_and_reports_started() -> None:
    config = Global(asn=65001, router_id="192.0.2.1", listen_port=1790, listen_addresses=("::",))
    assert global_from_pb(global_to_pb(config)) == config
    assert config.started and not global_from_pb(service_pb2.Global()).started


def test_unknown_family_is_a_conversion_error() -> None:
    message = family_to_pb(Family(IPV6_UNICAST.afi))
    message.afi = family_pb2.Family.Afi.ValueType(25)  # L2VPN: an open enum value we do not model
    with pytest.raises(ConversionError, match="unsupported family"):
        family_from_pb(message)
