"""BestPathDecoder: GoBGP protobuf paths -> Route / Withdraw (no daemon; messages built here)."""

from google.protobuf.any_pb2 import Any

from bgpctl.controllers.fibsync import BestPathDecoder
from bgpctl.gobgp._proto import attribute_pb2, family_pb2, path_pb2, service_pb2
from bgpctl.routesync import Route, Withdraw

V6 = family_pb2.Family(afi=family_pb2.Family.AFI_IP6, safi=family_pb2.Family.SAFI_UNICAST)
V4 = family_pb2.Family(afi=family_pb2.Family.AFI_IP, safi=family_pb2.Family.SAFI_UNICAST)


def packed(message: object) -> Any:
    wrapped = Any()
    wrapped.Pack(message)  # type: ignore[arg-type]
    return wrapped


def prefix(text: str) -> Any:
    addr, length = text.split("/")
    return packed(attribute_pb2.IPAddressPrefix(prefix=addr, prefix_len=int(length)))


def v6_path(dst: str, next_hop: str = "2001:db8:ab::1", **fields: object) -> path_pb2.Path:
    reach = attribute_pb2.MpReachNLRIAttribute(
        family=V6,
        next_hops=[next_hop],
        # A packed UPDATE: GoBGP copies every NLRI of it onto each path.
        nlris=[prefix("2001:db8:1::/48"), prefix("2001:db8:2::/48"), prefix(dst)],
    )
    attrs = [packed(attribute_pb2.OriginAttribute(origin=0)), packed(reach)]
    fields.setdefault("neighbor_ip", "2001:db8:ab::1")
    return path_pb2.Path(nlri=prefix(dst), pattrs=attrs, family=V6, **fields)  # type: ignore[arg-type]


def v4_path(dst: str, next_hop: str = "198.51.100.1", **fields: object) -> path_pb2.Path:
    attrs = [packed(attribute_pb2.NextHopAttribute(next_hop=next_hop))]
    fields.setdefault("neighbor_ip", "198.51.100.1")
    return path_pb2.Path(nlri=prefix(dst), pattrs=attrs, family=V4, **fields)  # type: ignore[arg-type]


def test_paths_become_routes_with_the_prefix_from_the_nlri() -> None:
    decoder = BestPathDecoder(table=100)
    assert decoder.change(v6_path("2001:db8:9::/48")) == Route.via(
        "2001:db8:9::/48", "2001:db8:ab::1", table=100
    )
    assert decoder.change(v4_path("203.0.113.0/24")) == Route.via(
        "203.0.113.0/24", "198.51.100.1", table=100
    )


def test_ipv4_prefix_with_ipv6_next_hop_uses_mp_reach() -> None:
    reach = attribute_pb2.MpReachNLRIAttribute(family=V4, next_hops=["2001:db8:ab::1"])
    path = path_pb2.Path(
        nlri=prefix("203.0.113.0/24"),
        pattrs=[packed(reach)],
        family=V4,
        neighbor_ip="2001:db8:ab::1",
    )
    assert BestPathDecoder().change(path) == Route.via("203.0.113.0/24", "2001:db8:ab::1")


def test_withdrawals_and_local_paths_become_withdraws() -> None:
    decoder = BestPathDecoder()
    expected = Withdraw("2001:db8:9::/48")
    assert decoder.change(v6_path("2001:db8:9::/48", is_withdraw=True)) == expected
    assert decoder.change(v6_path("2001:db8:9::/48", neighbor_ip="<nil>")) == expected
    assert decoder.change(v6_path("2001:db8:9::/48", next_hop="::")) == expected


def test_unusable_paths_are_skipped() -> None:
    decoder = BestPathDecoder()
    other_family = v6_path("2001:db8:9::/48")
    other_family.family.safi = family_pb2.Family.SAFI_MULTICAST
    no_next_hop = path_pb2.Path(
        nlri=prefix("2001:db8:9::/48"), family=V6, neighbor_ip="2001:db8::1"
    )
    bad_next_hop = v6_path("2001:db8:9::/48", next_hop="198.51.100.1")  # IPv4 via for IPv6
    event = service_pb2.WatchEventResponse(
        table=service_pb2.WatchEventResponse.TableEvent(
            paths=[other_family, no_next_hop, bad_next_hop, v6_path("2001:db8:a::/48")]
        )
    )
    assert decoder.event_changes(event) == [Route.via("2001:db8:a::/48", "2001:db8:ab::1")]
    assert decoder.event_changes(service_pb2.WatchEventResponse()) == []
