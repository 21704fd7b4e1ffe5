"""Path <-> protobuf conversion: every attribute, both families, GoBGP's quirks.

Covers encoding choices (NEXT_HOP vs MP_REACH, type URLs, next-hop-self default),
decoding of what GoBGP sends (prefix from Path.nlri only, "<nil>" metadata, unmodelled
attributes skipped) and the errors for bad input. Does not talk to gobgpd (see
test_gobgpd_*).
"""

from __future__ import annotations

import ipaddress

import pytest
from google.protobuf import any_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from bgpctl.gobgp._proto import attribute_pb2 as attr
from bgpctl.gobgp._proto import family_pb2, path_pb2
from bgpctl.gobgp.convert import (
    URL_MP_REACH,
    URL_MP_UNREACH,
    URL_NEXT_HOP,
    URL_PREFIX,
    pack,
    path_from_pb,
    path_to_pb,
    prefix_to_pb,
)
from bgpctl.gobgp.errors import ConversionError
from bgpctl.gobgp.types import AsSegment, AsSegmentType, Origin, Path

V6 = ipaddress.ip_network("2001:db8:1000::/48")
V4 = ipaddress.ip_network("203.0.113.0/24")
NH6 = ipaddress.ip_address("2001:db8:ab::1")
NH4 = ipaddress.ip_address("198.51.100.1")

FULL_V6 = Path(
    prefix=V6,
    next_hops=(NH6,),
    origin=Origin.EGP,
    as_path=(AsSegment((65010, 65020)), AsSegment((65030, 65040), AsSegmentType.AS_SET)),
    med=50,
    local_pref=200,
    communities=((65001, 100), (65001, 200)),
    large_communities=((65001, 1, 2), (4200000000, 0, 4294967295)),
)
FULL_V4 = Path(
    prefix=V4,
    next_hops=(NH4,),
    origin=Origin.INCOMPLETE,
    as_path=(AsSegment((65010,)),),
    med=0,
    local_pref=150,
    communities=((0, 0), (65535, 65535)),
    large_communities=((1, 2, 3),),
)


def urls(message: path_pb2.Path) -> list[str]:
    return [a.type_url.rsplit(".", 1)[1] for a in message.pattrs]


@pytest.mark.parametrize("path", [FULL_V6, FULL_V4], ids=["v6", "v4"])
def test_every_attribute_round_trips(path: Path) -> None:
    assert path_from_pb(path_to_pb(path)) == path


def test_v6_uses_mp_reach_with_the_nlri_and_family() -> None:
    message = path_to_pb(FULL_V6)
    assert message.family == family_pb2.Family(
        afi=family_pb2.Family.AFI_IP6, safi=family_pb2.Family.SAFI_UNICAST
    )
    assert message.nlri.type_url == "type.googleapis.com/apipb.IPAddressPrefix"
    assert urls(message) == [
        "OriginAttribute",
        "AsPathAttribute",
        "MpReachNLRIAttribute",
        "MultiExitDiscAttribute",
        "LocalPrefAttribute",
        "CommunitiesAttribute",
        "LargeCommunitiesAttribute",
    ]
    mp = attr.MpReachNLRIAttribute.FromString(message.pattrs[2].value)
    assert list(mp.next_hops) == ["2001:db8:ab::1"]
    assert list(mp.nlris) == [message.nlri]


def test_v4_with_v4_next_hop_uses_next_hop_attribute() -> None:
    message = path_to_pb(FULL_V4)
    assert URL_NEXT_HOP in [a.type_url for a in message.pattrs]
    assert URL_MP_REACH not in [a.type_url for a in message.pattrs]


def test_v4_over_v6_next_hop_uses_mp_reach() -> None:
    path = Path(prefix=V4, next_hops=(NH6,))
    message = path_to_pb(path)
    mp = next(a for a in message.pattrs if a.type_url == URL_MP_REACH)
    assert attr.MpReachNLRIAttribute.FromString(mp.value).family.afi == family_pb2.Family.AFI_IP
    assert path_from_pb(message) == path


@pytest.mark.parametrize(("prefix", "unspecified"), [(V6, "::"), (V4, "0.0.0.0")], ids=["v6", "v4"])
def test_missing_next_hop_means_next_hop_self(
    prefix: ipaddress.IPv4Network, unspecified: str
) -> None:
    decoded = path_from_pb(path_to_pb(Path(prefix=prefix)))
    assert decoded.next_hops == (ipaddress.ip_address(unspecified),)


def test_communities_are_packed_as_asn_shift_16() -> None:
    message = path_to_pb(Path(prefix=V6, communities=((65001, 100),)))
    packed = next(a for a in message.pattrs if a.type_url.endswith("CommunitiesAttribute"))
    assert list(attr.CommunitiesAttribute.FromString(packed.value).communities) == [
        65001 << 16 | 100
    ]


def test_withdrawal_keeps_prefix_and_next_hop_only() -> None:
    message = path_to_pb(FULL_V6.withdrawal())
    assert message.is_withdraw
    assert urls(message) == ["OriginAttribute", "MpReachNLRIAttribute"]


def test_prefix_comes_from_path_nlri_not_from_mp_reach_list() -> None:
    # GoBGP 3.10 copies the whole UPDATE's NLRI list onto every path it produces.
    message = path_to_pb(FULL_V6)
    mp_any = next(a for a in message.pattrs if a.type_url == URL_MP_REACH)
    mp = attr.MpReachNLRIAttribute.FromString(mp_any.value)
    del mp.nlris[:]
    for other in ("2001:db8:2000::/48", "2001:db8:3000::/48"):
        mp.nlris.append(
            pack(
                mp_any.type_url.replace("MpReachNLRIAttribute", "IPAddressPrefix"),
                prefix_to_pb(ipaddress.ip_network(other)),
            )
        )
    mp_any.value = mp.SerializeToString()
    assert path_from_pb(message).prefix == V6


def test_withdrawal_with_mp_unreach_only_decodes_without_next_hops() -> None:
    unreach = attr.MpUnreachNLRIAttribute(
        family=family_pb2.Family(
            afi=family_pb2.Family.AFI_IP6, safi=family_pb2.Family.SAFI_UNICAST
        ),
        nlris=[pack(URL_PREFIX, prefix_to_pb(V6))],
    )
    message = path_pb2.Path(
        nlri=pack(URL_PREFIX, prefix_to_pb(V6)),
        pattrs=[pack(URL_MP_UNREACH, unreach)],
        is_withdraw=True,
    )
    assert path_from_pb(message) == Path(prefix=V6, is_withdraw=True)


def test_metadata_is_decoded_but_not_compared() -> None:
    message = path_to_pb(FULL_V6)
    message.neighbor_ip = "2001:db8:ab::2"
    message.source_asn = 65002
    message.source_id = "198.51.100.2"
    message.best = True
    message.age.seconds = 1_700_000_000
    decoded = path_from_pb(message)
    assert decoded == FULL_V6
    assert decoded.neighbor == ipaddress.ip_address("2001:db8:ab::2")
    assert (decoded.source_asn, decoded.source_id, decoded.best) == (65002, "198.51.100.2", True)
    assert decoded.age == 1_700_000_000.0
    assert not decoded.is_local


def test_local_paths_report_nil_neighbor() -> None:
    message = path_to_pb(FULL_V4)
    message.neighbor_ip = "<nil>"
    message.source_id = "<nil>"
    decoded = path_from_pb(message)
    assert decoded.neighbor is None and decoded.source_id == "" and decoded.is_local


def test_unmodelled_attributes_are_skipped() -> None:
    message = path_to_pb(FULL_V4)
    message.pattrs.append(
        any_pb2.Any(
            type_url="type.googleapis.com/apipb.OriginatorIdAttribute", value=b"\n\x07192.0.2.1"
        )
    )
    assert path_from_pb(message) == FULL_V4


def test_unsupported_nlri_is_a_conversion_error() -> None:
    message = path_to_pb(FULL_V4)
    message.nlri.type_url = "type.googleapis.com/apipb.EVPNMACIPAdvertisementRoute"
    with pytest.raises(ConversionError, match="unsupported NLRI"):
        path_from_pb(message)


@pytest.mark.parametrize(
    ("text", "length"),
    [("2001:db8::1", 64), ("203.0.113.7", 24), ("not-an-address", 8), ("192.0.2.0", 33)],
    ids=["v6-host-bits", "v4-host-bits", "garbage", "too-long"],
)
def test_bad_nlri_is_a_conversion_error(text: str, length: int) -> None:
    message = path_to_pb(FULL_V4)
    message.nlri.value = attr.IPAddressPrefix(prefix=text, prefix_len=length).SerializeToString()
    with pytest.raises(ConversionError, match="malformed"):
        path_from_pb(message)


def test_garbage_attribute_bytes_are_a_conversion_error() -> None:
    message = path_to_pb(FULL_V4)
    message.pattrs[0].value = b"\xff\xff\xff"
    with pytest.raises(ConversionError, match="malformed"):
        path_from_pb(message)


@pytest.mark.parametrize(
    "bad",
    [
        Path(prefix=V6, communities=((65536, 1),)),
        Path(prefix=V6, communities=((1, -1),)),
        Path(prefix=V6, large_communities=((2**32, 0, 0),)),
        Path(prefix=V6, med=-1),
        Path(prefix=V6, local_pref=2**32),
        Path(prefix=V6, as_path=(AsSegment((2**32,)),)),
    ],
    ids=["community-asn", "community-value", "large", "med", "local-pref", "asn"],
)
def test_out_of_range_values_are_rejected(bad: Path) -> None:
    with pytest.raises(ConversionError, match="out of range"):
        path_to_pb(bad)


u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
v6_prefixes = st.builds(
    lambda addr, length: ipaddress.IPv6Network((addr, length), strict=False),
    st.integers(0, 2**128 - 1),
    st.integers(0, 128),
)
v4_prefixes = st.builds(
    lambda addr, length: ipaddress.IPv4Network((addr, length), strict=False),
    st.integers(0, 2**32 - 1),
    st.integers(0, 32),
)


@settings(deadline=None)  # shared 2-core machine: timing says nothing here
@given(
    prefix=st.one_of(v4_prefixes, v6_prefixes),
    origin=st.sampled_from(Origin),
    segments=st.lists(
        st.tuples(st.lists(u32, min_size=1, max_size=4), st.sampled_from(AsSegmentType)), max_size=3
    ),
    med=st.none() | u32,
    local_pref=st.none() | u32,
    communities=st.lists(st.tuples(u16, u16), max_size=5),
    large=st.lists(st.tuples(u32, u32, u32), max_size=3),
    withdraw=st.booleans(),
)
def test_round_trip_property(
    prefix: ipaddress.IPv4Network | ipaddress.IPv6Network,
    origin: Origin,
    segments: list[tuple[list[int], AsSegmentType]],
    med: int | None,
    local_pref: int | None,
    communities: list[tuple[int, int]],
    large: list[tuple[int, int, int]],
    withdraw: bool,
) -> None:
    next_hop = ipaddress.ip_address("2001:db8::1" if prefix.version == 6 else "192.0.2.1")
    path = Path(
        prefix=prefix,
        next_hops=(next_hop,),
        origin=origin,
        as_path=tuple(AsSegment(tuple(a), t) for a, t in segments),
        med=med,
        local_pref=local_pref,
        communities=tuple(communities),
        large_communities=tuple(large),
        is_withdraw=withdraw,
    )
    assert path_from_pb(path_to_pb(path)) == path
