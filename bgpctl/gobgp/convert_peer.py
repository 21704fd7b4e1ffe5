"""Pure conversions between our neighbor types and GoBGP's ``Peer`` messages.

``peer_to_pb`` writes only the fields ``PeerSpec`` models; GoBGP fills every other field
with its defaults, which is also what UpdatePeer compares against, so sending the same
spec twice is a no-op. Peer events carry only ``conf``, ``state`` and ``transport``
(no timers, no per-family counters), which ``peer_state_from_pb`` tolerates.
"""

from __future__ import annotations

import ipaddress

from bgpctl.gobgp._proto import peer_pb2 as pb
from bgpctl.gobgp._proto import service_pb2
from bgpctl.gobgp.convert import family_from_pb, family_to_pb, timestamp_seconds
from bgpctl.gobgp.errors import ConversionError
from bgpctl.gobgp.types import (
    AdminState,
    FamilyCounters,
    IPAddress,
    MessageCounters,
    Peer,
    PeerEvent,
    PeerEventType,
    PeerSpec,
    PeerState,
    PeerType,
    SessionState,
)

_SESSION_STATES = {
    pb.PeerState.UNKNOWN: SessionState.UNKNOWN,
    pb.PeerState.IDLE: SessionState.IDLE,
    pb.PeerState.CONNECT: SessionState.CONNECT,
    pb.PeerState.ACTIVE: SessionState.ACTIVE,
    pb.PeerState.OPENSENT: SessionState.OPENSENT,
    pb.PeerState.OPENCONFIRM: SessionState.OPENCONFIRM,
    pb.PeerState.ESTABLISHED: SessionState.ESTABLISHED,
}
_ADMIN_STATES = {
    pb.PeerState.UP: AdminState.UP,
    pb.PeerState.DOWN: AdminState.DOWN,
    pb.PeerState.PFX_CT: AdminState.PREFIX_LIMIT,
}
_EVENT_TYPES = {
    service_pb2.WatchEventResponse.PeerEvent.INIT: PeerEventType.INIT,
    service_pb2.WatchEventResponse.PeerEvent.END_OF_INIT: PeerEventType.END_OF_INIT,
    service_pb2.WatchEventResponse.PeerEvent.STATE: PeerEventType.STATE,
}


def peer_to_pb(spec: PeerSpec) -> pb.Peer:
    """Encode a neighbor for AddPeer / UpdatePeer.

    Raises:
        ConversionError: No address family is configured.
    """
    if not spec.families:
        raise ConversionError(f"peer {spec.neighbor_address}: no address family")
    # With an explicit local AS, the peer type and the local address are sent as GoBGP
    # would default them: GoBGP 3.10's UpdatePeer compares the request, before its
    # defaults are filled in, with the stored configuration, and resets the session on
    # any difference (a timer change included).
    peer_type = pb.INTERNAL
    if spec.local_asn and spec.local_asn != spec.peer_asn:
        peer_type = pb.EXTERNAL
    local = spec.local_address or _unspecified(spec.neighbor_address)
    peer = pb.Peer(
        conf=pb.PeerConf(
            neighbor_address=str(spec.neighbor_address),
            peer_asn=spec.peer_asn,
            local_asn=spec.local_asn,
            type=peer_type,
            description=spec.description,
            auth_password=spec.auth_password,
            admin_down=spec.admin_down,
        ),
        transport=pb.Transport(
            local_address=str(local),
            remote_port=spec.remote_port,
            passive_mode=spec.passive,
        ),
        timers=pb.Timers(
            config=pb.TimersConfig(
                connect_retry=spec.connect_retry,
                hold_time=spec.hold_time,
                keepalive_interval=spec.keepalive_interval,
            )
        ),
        afi_safis=[
            pb.AfiSafi(
                config=pb.AfiSafiConfig(family=family_to_pb(f), enabled=True),
                mp_graceful_restart=pb.MpGracefulRestart(
                    config=pb.MpGracefulRestartConfig(enabled=bool(spec.graceful_restart_time))
                ),
            )
            for f in spec.families
        ],
    )
    if spec.graceful_restart_time:
        peer.graceful_restart.CopyFrom(
            pb.GracefulRestart(enabled=True, restart_time=spec.graceful_restart_time)
        )
    if spec.ebgp_multihop_ttl:
        peer.ebgp_multihop.CopyFrom(
            pb.EbgpMultihop(enabled=True, multihop_ttl=spec.ebgp_multihop_ttl)
        )
    if spec.ttl_security_min:
        peer.ttl_security.CopyFrom(pb.TtlSecurity(enabled=True, ttl_min=spec.ttl_security_min))
    if spec.route_reflector_client:
        peer.route_reflector.CopyFrom(
            pb.RouteReflector(
                route_reflector_client=True,
                route_reflector_cluster_id=spec.route_reflector_cluster_id,
            )
        )
    return peer


def _unspecified(address: IPAddress) -> IPAddress:
    return ipaddress.ip_address("0.0.0.0" if address.version == 4 else "::")


def _configured(address: IPAddress | None) -> IPAddress | None:
    # GoBGP lists an unconfigured local address as "0.0.0.0" / "::".
    return None if address is None or address.is_unspecified else address


def _address(text: str) -> IPAddress | None:
    # GoBGP renders a missing address as "" or "<nil>".
    try:
        return ipaddress.ip_address(text) if text else None
    except ValueError:
        return None


def peer_spec_from_pb(message: pb.Peer) -> PeerSpec:
    """Decode the configuration half of a listed neighbor.

    Raises:
        ConversionError: The neighbor address does not parse.
    """
    conf, timers, transport = message.conf, message.timers.config, message.transport
    neighbor = _address(conf.neighbor_address)
    if neighbor is None:
        raise ConversionError(f"peer without address: {conf.neighbor_address!r}")
    families = []
    for afi_safi in message.afi_safis:
        if afi_safi.config.enabled:
            try:
                families.append(family_from_pb(afi_safi.config.family))
            except ConversionError:
                continue  # a family bgpctl does not model, configured by someone else
    return PeerSpec(
        neighbor_address=neighbor,
        peer_asn=conf.peer_asn,
        local_asn=conf.local_asn,
        description=conf.description,
        auth_password=conf.auth_password,
        families=tuple(families),
        local_address=_configured(_address(transport.local_address)),
        remote_port=transport.remote_port,
        passive=transport.passive_mode,
        connect_retry=timers.connect_retry,
        hold_time=timers.hold_time,
        keepalive_interval=timers.keepalive_interval,
        ebgp_multihop_ttl=message.ebgp_multihop.multihop_ttl
        if message.ebgp_multihop.enabled
        else 0,
        ttl_security_min=message.ttl_security.ttl_min if message.ttl_security.enabled else 0,
        route_reflector_client=message.route_reflector.route_reflector_client,
        route_reflector_cluster_id=message.route_reflector.route_reflector_cluster_id,
        admin_down=conf.admin_down,
        graceful_restart_time=message.graceful_restart.restart_time
        if message.graceful_restart.enabled
        else 0,
    )


def peer_state_from_pb(message: pb.Peer) -> PeerState:
    """Decode the state half of a listed neighbor or of a peer event.

    Raises:
        ConversionError: The neighbor address does not parse.
    """
    state, transport = message.state, message.transport
    neighbor = _address(state.neighbor_address) or _address(message.conf.neighbor_address)
    if neighbor is None:
        raise ConversionError(f"peer without address: {state.neighbor_address!r}")
    timers = message.timers.state
    counters = []
    eor = [
        a.mp_graceful_restart.state.end_of_rib_received
        for a in message.afi_safis
        if a.config.enabled
    ]
    for afi_safi in message.afi_safis:
        s = afi_safi.state
        try:
            family = family_from_pb(s.family if s.HasField("family") else afi_safi.config.family)
        except ConversionError:
            continue
        counters.append(FamilyCounters(family, s.enabled, s.received, s.accepted, s.advertised))
    return PeerState(
        neighbor_address=neighbor,
        peer_asn=state.peer_asn or message.conf.peer_asn,
        local_asn=state.local_asn or message.conf.local_asn,  # ListPeer leaves state's 0
        session_state=_SESSION_STATES.get(state.session_state, SessionState.UNKNOWN),
        admin_state=_ADMIN_STATES.get(state.admin_state, AdminState.UP),
        peer_type=PeerType.EXTERNAL if state.type == pb.EXTERNAL else PeerType.INTERNAL,
        router_id=state.router_id if state.router_id not in ("", "<nil>") else "",
        local_address=_address(transport.local_address),
        remote_port=transport.remote_port,
        uptime=timestamp_seconds(timers.uptime) if timers.uptime.seconds else None,
        flops=state.flops,
        families=tuple(counters),
        end_of_rib=bool(eor) and all(eor),
        downtime=timestamp_seconds(timers.downtime) if timers.downtime.seconds else None,
        messages=MessageCounters(
            opens_sent=state.messages.sent.open,
            opens_received=state.messages.received.open,
            notifications_sent=state.messages.sent.notification,
            notifications_received=state.messages.received.notification,
        ),
    )


def peer_from_pb(message: pb.Peer) -> Peer:
    """Decode a ListPeer entry into configuration and state."""
    return Peer(spec=peer_spec_from_pb(message), state=peer_state_from_pb(message))


def peer_event_from_pb(message: service_pb2.WatchEventResponse.PeerEvent) -> PeerEvent | None:
    """Decode a peer event; ``None`` for event types bgpctl does not know.

    Raises:
        ConversionError: A STATE/INIT event without a parseable neighbor address.
    """
    kind = _EVENT_TYPES.get(message.type)
    if kind is None:
        return None
    if kind is PeerEventType.END_OF_INIT:
        return PeerEvent(kind, None)
    return PeerEvent(kind, peer_state_from_pb(message.peer))
