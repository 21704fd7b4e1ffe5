"""Pure conversions between our value types and GoBGP's protobuf messages: paths.

Encoding follows what GoBGP's API expects: the NLRI is an Any-packed
``IPAddressPrefix``; IPv4 unicast with an IPv4 next hop uses ``NextHopAttribute``,
everything else (IPv6, or IPv4 over an IPv6 next hop) uses ``MpReachNLRIAttribute``
carrying the family, the next hops and the NLRI.

Decoding is targeted (compare the Any's type URL, then ``FromString`` the payload) rather
than generic ``Any.Unpack``: it is about 2.6x faster on the best-path stream. Attributes
we do not model are skipped. The prefix always comes from ``Path.nlri`` and never from
``MpReachNLRIAttribute.nlris``: GoBGP 3.10 copies the NLRI list of the whole received
UPDATE onto every path it produces (osrg/gobgp#2863), so that list can hold hundreds of
unrelated prefixes.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

from google.protobuf import any_pb2, timestamp_pb2
from google.protobuf.message import DecodeError, Message

from bgpctl.gobgp._proto import attribute_pb2 as attr_pb
from bgpctl.gobgp._proto import family_pb2, path_pb2, service_pb2
from bgpctl.gobgp.addresses import (
    address_text,
    network_address_text,
    parse_address,
    parse_network,
)
from bgpctl.gobgp.errors import ConversionError
from bgpctl.gobgp.types import (
    IPV4_UNICAST,
    IPV6_UNICAST,
    Afi,
    AsSegment,
    AsSegmentType,
    Family,
    Global,
    IPAddress,
    IPNetwork,
    Origin,
    Path,
    Safi,
)


def _url(message: type[Message]) -> str:
    return "type.googleapis.com/" + message.DESCRIPTOR.full_name


URL_PREFIX = _url(attr_pb.IPAddressPrefix)
URL_ORIGIN = _url(attr_pb.OriginAttribute)
URL_AS_PATH = _url(attr_pb.AsPathAttribute)
URL_NEXT_HOP = _url(attr_pb.NextHopAttribute)
URL_MED = _url(attr_pb.MultiExitDiscAttribute)
URL_LOCAL_PREF = _url(attr_pb.LocalPrefAttribute)
URL_COMMUNITIES = _url(attr_pb.CommunitiesAttribute)
URL_LARGE_COMMUNITIES = _url(attr_pb.LargeCommunitiesAttribute)
URL_MP_REACH = _url(attr_pb.MpReachNLRIAttribute)
URL_MP_UNREACH = _url(attr_pb.MpUnreachNLRIAttribute)

_UNSPECIFIED_V4 = ipaddress.IPv4Address("0.0.0.0")
_UNSPECIFIED_V6 = ipaddress.IPv6Address("::")
_MAX16 = 0xFFFF
_NIL = ("", "<nil>")
_MAX32 = 0xFFFFFFFF


def pack(url: str, message: Message) -> any_pb2.Any:
    """Wrap ``message`` in an Any with GoBGP's type URL (cheaper than ``Any.Pack``)."""
    return any_pb2.Any(type_url=url, value=message.SerializeToString())


# -- families and global ----------------------------------------------------------------


def family_to_pb(family: Family) -> family_pb2.Family:
    """Encode an AFI/SAFI pair."""
    return family_pb2.Family(
        afi=family_pb2.Family.Afi.ValueType(family.afi),
        safi=family_pb2.Family.Safi.ValueType(family.safi),
    )


def family_from_pb(message: family_pb2.Family) -> Family:
    """Decode an AFI/SAFI pair.

    Raises:
        ConversionError: The family is not one bgpctl models.
    """
    try:
        return Family(Afi(message.afi), Safi(message.safi))
    except ValueError as exc:
        raise ConversionError(f"unsupported family afi={message.afi} safi={message.safi}") from exc


def global_to_pb(config: Global) -> service_pb2.Global:
    """Encode speaker settings for StartBgp."""
    return service_pb2.Global(
        asn=config.asn,
        router_id=config.router_id,
        listen_port=config.listen_port,
        listen_addresses=list(config.listen_addresses),
    )


def global_from_pb(message: service_pb2.Global) -> Global:
    """Decode GetBgp's settings (AS 0 means not started)."""
    return Global(
        asn=message.asn,
        router_id=message.router_id,
        listen_port=message.listen_port,
        listen_addresses=tuple(message.listen_addresses),
    )


def timestamp_seconds(message: timestamp_pb2.Timestamp) -> float:
    """Unix time in float seconds."""
    return message.seconds + message.nanos / 1e9


# -- paths: encode -----------------------------------------------------------------------

# Constant parts, built once (protobuf copies them into each message that uses them).
_FAMILY_PB = {f: family_to_pb(f) for f in (IPV4_UNICAST, IPV6_UNICAST)}
_ORIGIN_PB = {o: pack(URL_ORIGIN, attr_pb.OriginAttribute(origin=int(o))) for o in Origin}


def path_to_pb(path: Path) -> path_pb2.Path:
    """Encode a path for AddPath / AddPathStream / DeletePath.

    Raises:
        ConversionError: An attribute is out of range, or a next hop does not fit.
    """
    prefix = path.prefix
    family = Family.of(prefix)
    nlri = pack(URL_PREFIX, prefix_to_pb(prefix))
    next_hops = path.next_hops or (_UNSPECIFIED_V4 if prefix.version == 4 else _UNSPECIFIED_V6,)
    pattrs = [_ORIGIN_PB[path.origin]]
    if path.as_path:
        pattrs.append(_as_path_any(path.as_path))
    if family == IPV4_UNICAST and len(next_hops) == 1 and next_hops[0].version == 4:
        next_hop = attr_pb.NextHopAttribute(next_hop=address_text(next_hops[0]))
        pattrs.append(pack(URL_NEXT_HOP, next_hop))
    else:
        mp_reach = attr_pb.MpReachNLRIAttribute(
            family=_FAMILY_PB[family], next_hops=[address_text(n) for n in next_hops], nlris=[nlri]
        )
        pattrs.append(pack(URL_MP_REACH, mp_reach))
    if path.med is not None:
        pattrs.append(_med_any(path.med))
    if path.local_pref is not None:
        pattrs.append(_local_pref_any(path.local_pref))
    if path.communities:
        pattrs.append(_communities_any(path.communities))
    if path.large_communities:
        pattrs.append(_large_communities_any(path.large_communities))
    return path_pb2.Path(
        nlri=nlri,
        pattrs=pattrs,
        family=_FAMILY_PB[family],
        is_withdraw=path.is_withdraw,
        identifier=_u32(path.identifier, "path identifier"),
    )


def prefix_to_pb(prefix: IPNetwork) -> attr_pb.IPAddressPrefix:
    """Encode a prefix as GoBGP's unicast NLRI."""
    return attr_pb.IPAddressPrefix(prefix=network_address_text(prefix), prefix_len=prefix.prefixlen)


def community_to_int(community: tuple[int, int]) -> int:
    """Pack ``(asn, value)`` as ``asn << 16 | value``, rejecting out-of-range halves.

    Raises:
        ConversionError: Either half is outside 0..65535.
    """
    asn, value = community
    if not (0 <= asn <= _MAX16 and 0 <= value <= _MAX16):
        raise ConversionError(f"community {asn}:{value} out of range")
    return asn << 16 | value


# Attribute values repeat across paths (a whole table often shares one community list),
# so their packed form is memoised; protobuf copies them into each Path.
@functools.lru_cache(maxsize=1024)
def _as_path_any(segments: tuple[AsSegment, ...]) -> any_pb2.Any:
    return pack(URL_AS_PATH, _as_path_to_pb(segments))


@functools.lru_cache(maxsize=1024)
def _med_any(med: int) -> any_pb2.Any:
    return pack(URL_MED, attr_pb.MultiExitDiscAttribute(med=_u32(med, "med")))


@functools.lru_cache(maxsize=1024)
def _local_pref_any(local_pref: int) -> any_pb2.Any:
    value = _u32(local_pref, "local_pref")
    return pack(URL_LOCAL_PREF, attr_pb.LocalPrefAttribute(local_pref=value))


@functools.lru_cache(maxsize=1024)
def _communities_any(communities: tuple[tuple[int, int], ...]) -> any_pb2.Any:
    packed = [community_to_int(c) for c in communities]
    return pack(URL_COMMUNITIES, attr_pb.CommunitiesAttribute(communities=packed))


@functools.lru_cache(maxsize=1024)
def _large_communities_any(communities: tuple[tuple[int, int, int], ...]) -> any_pb2.Any:
    large = attr_pb.LargeCommunitiesAttribute(communities=[_large_to_pb(c) for c in communities])
    return pack(URL_LARGE_COMMUNITIES, large)


def _large_to_pb(community: tuple[int, int, int]) -> attr_pb.LargeCommunity:
    g, l1, l2 = (_u32(v, "large community") for v in community)
    return attr_pb.LargeCommunity(global_admin=g, local_data1=l1, local_data2=l2)


def _as_path_to_pb(segments: Iterable[AsSegment]) -> attr_pb.AsPathAttribute:
    return attr_pb.AsPathAttribute(
        segments=[
            attr_pb.AsSegment(
                type=attr_pb.AsSegment.Type.ValueType(s.type),
                numbers=[_u32(a, "asn") for a in s.asns],
            )
            for s in segments
        ]
    )


def _u32(value: int, what: str) -> int:
    if not 0 <= value <= _MAX32:
        raise ConversionError(f"{what} {value} out of range")
    return value


# -- paths: decode -----------------------------------------------------------------------


def path_from_pb(message: path_pb2.Path) -> Path:
    """Decode a path from ListPath or the best-path stream.

    Raises:
        ConversionError: The NLRI is not a unicast prefix, or an attribute is malformed.
    """
    nlri = message.nlri
    if nlri.type_url != URL_PREFIX:
        raise ConversionError(f"unsupported NLRI type {nlri.type_url!r}")
    next_hops: tuple[IPAddress, ...] = ()
    origin = Origin.IGP
    as_path: tuple[AsSegment, ...] = ()
    med: int | None = None
    local_pref: int | None = None
    communities: tuple[tuple[int, int], ...] = ()
    large: tuple[tuple[int, int, int], ...] = ()
    try:
        raw = attr_pb.IPAddressPrefix.FromString(nlri.value)
        prefix = parse_network(raw.prefix, raw.prefix_len)
        for attr in message.pattrs:
            url = attr.type_url
            if url == URL_MP_REACH:
                hops = attr_pb.MpReachNLRIAttribute.FromString(attr.value).next_hops
                next_hops = tuple(parse_address(n) for n in hops)
            elif url == URL_NEXT_HOP:
                hop = attr_pb.NextHopAttribute.FromString(attr.value).next_hop
                next_hops = (parse_address(hop),)
            elif url == URL_ORIGIN:
                origin = Origin(attr_pb.OriginAttribute.FromString(attr.value).origin)
            elif url == URL_AS_PATH:
                segments = attr_pb.AsPathAttribute.FromString(attr.value).segments
                as_path = tuple(
                    AsSegment(tuple(s.numbers), AsSegmentType(s.type)) for s in segments
                )
            elif url == URL_LOCAL_PREF:
                local_pref = attr_pb.LocalPrefAttribute.FromString(attr.value).local_pref
            elif url == URL_MED:
                med = attr_pb.MultiExitDiscAttribute.FromString(attr.value).med
            elif url == URL_COMMUNITIES:
                values = attr_pb.CommunitiesAttribute.FromString(attr.value).communities
                communities = tuple((c >> 16, c & _MAX16) for c in values)
            elif url == URL_LARGE_COMMUNITIES:
                entries = attr_pb.LargeCommunitiesAttribute.FromString(attr.value).communities
                large = tuple((c.global_admin, c.local_data1, c.local_data2) for c in entries)
            # MP_UNREACH (a withdrawal's, no next hop) and unmodelled attributes: skipped.
        # Local paths say "<nil>" (GoBGP renders a nil net.IP) or nothing.
        neighbor_ip = message.neighbor_ip
        neighbor = parse_address(neighbor_ip) if neighbor_ip not in _NIL else None
    except (DecodeError, ValueError) as exc:  # bad bytes, addresses or enum values
        raise ConversionError(f"malformed path: {exc}") from exc
    return Path(
        prefix=prefix,
        next_hops=next_hops,
        origin=origin,
        as_path=as_path,
        med=med,
        local_pref=local_pref,
        communities=communities,
        large_communities=large,
        is_withdraw=message.is_withdraw,
        neighbor=neighbor,
        source_asn=message.source_asn,
        source_id=message.source_id if message.source_id not in _NIL else "",
        best=message.best,
        age=timestamp_seconds(message.age) if message.HasField("age") else None,
        uuid=message.uuid,
        identifier=message.identifier,
    )


def paths_from_pb(messages: Iterable[path_pb2.Path]) -> list[Path]:
    """Decode many paths, raising on the first bad one (see ``path_from_pb``)."""
    return [path_from_pb(m) for m in messages]
