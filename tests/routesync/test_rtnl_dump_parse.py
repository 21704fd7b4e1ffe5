"""RouteDumpReader's parsing on hand-built netlink bytes (no root, no kernel).

Messages are packed here field by field from the rtnetlink layouts (nlmsghdr, rtmsg,
rtattr, rtnexthop, rtvia), so every case the kernel can send (and some it should not)
is covered without a namespace. The reader's request/retry logic runs against a fake
socket that answers each request with canned datagrams.
"""

from __future__ import annotations

import errno
import socket
import struct
from collections import deque
from collections.abc import Callable

import pytest

from bgpctl.routesync.errors import InvalidRoute, RouteSyncError
from bgpctl.routesync.rtnl_dump import (
    NETLINK_GET_STRICT_CHK,
    DumpReplies,
    RouteDecoder,
    RouteDumpReader,
    dump_request,
)
from bgpctl.routesync.types import NextHop, Route

AF4, AF6 = socket.AF_INET, socket.AF_INET6
SEQ = 7
NLM_F_MULTI = 0x2
NLM_F_DUMP_INTR = 0x10
NLA_F_NESTED = 0x8000
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_PREFSRC = 1, 4, 5, 6, 7
RTA_MULTIPATH, RTA_CACHEINFO, RTA_TABLE, RTA_VIA, RTA_PREF = 9, 12, 15, 18, 20
RTN_UNICAST, RTN_BLACKHOLE = 1, 6
GW6, GW6B, GW4 = "2001:db8:ff::2", "2001:db8:ff::3", "198.51.100.2"


# -- byte builders ----------------------------------------------------------------------


def pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def attr(kind: int, payload: bytes) -> bytes:
    return pad(struct.pack("=HH", 4 + len(payload), kind) + payload)


def u32(kind: int, value: int) -> bytes:
    return attr(kind, struct.pack("=I", value))


def addr(kind: int, text: str) -> bytes:
    return attr(kind, socket.inet_pton(AF6 if ":" in text else AF4, text))


def via(text: str) -> bytes:
    family = AF6 if ":" in text else AF4
    return attr(RTA_VIA, struct.pack("=H", family) + socket.inet_pton(family, text))


def rtnexthop(ifindex: int, hops: int, *attrs: bytes) -> bytes:
    body = b"".join(attrs)
    return struct.pack("=HBBi", 8 + len(body), 0, hops, ifindex) + body


def message(kind: int, body: bytes, *, seq: int = SEQ, flags: int = NLM_F_MULTI) -> bytes:
    return pad(struct.pack("=IHHII", 16 + len(body), kind, flags, seq, 4242) + body)


def route(
    family: int,
    dst: str | None,
    dst_len: int,
    *attrs: bytes,
    table: int = 254,
    protocol: int = 196,
    rtype: int = RTN_UNICAST,
    seq: int = SEQ,
    flags: int = NLM_F_MULTI,
) -> bytes:
    """An RTM_NEWROUTE as the kernel sends it: RTA_TABLE first, then RTA_DST, then the rest."""
    rtm = struct.pack(
        "=BBBBBBBBI", family, dst_len, 0, 0, table if table < 256 else 252, protocol, 0, rtype, 0
    )
    head = u32(RTA_TABLE, table) + (addr(RTA_DST, dst) if dst else b"")
    return message(24, rtm + head + b"".join(attrs), seq=seq, flags=flags)


def done(*, seq: int = SEQ, error: int = 0, flags: int = NLM_F_MULTI, tlvs: bytes = b"") -> bytes:
    return message(3, struct.pack("=i", error) + tlvs, seq=seq, flags=flags)


def nlmsgerr(error: int, request: bytes, *, seq: int = SEQ, text: str = "") -> bytes:
    """NLMSG_ERROR with the request's header echoed (capped) and an extended-ack message."""
    flags = 0x100  # NLM_F_CAPPED
    tlvs = b""
    if text:
        flags |= 0x200  # NLM_F_ACK_TLVS
        tlvs = attr(1, text.encode() + b"\0")
    return message(2, struct.pack("=i", -error) + request[:16] + tlvs, seq=seq, flags=flags)


def decode_all(
    *datagrams: bytes, protocol: int = 196, tables: set[int] | None = None
) -> DumpReplies:
    replies = DumpReplies(RouteDecoder(protocol=protocol, tables=tables or {254}), SEQ)
    for datagram in datagrams:
        replies.feed(datagram)
    return replies


def one(data: bytes, **kwargs: object) -> tuple[Route, int]:
    replies = decode_all(data + done(), **kwargs)  # type: ignore[arg-type]
    assert replies.done
    (found,) = replies.routes
    return found


# -- single messages ----------------------------------------------------------------------


def test_ipv6_route_with_gateway_and_the_attributes_we_skip() -> None:
    data = route(
        AF6,
        "2001:db8:1::",
        48,
        u32(RTA_PRIORITY, 1024),
        u32(RTA_OIF, 3),
        addr(RTA_GATEWAY, GW6),
        attr(RTA_CACHEINFO, bytes(32)),
        attr(RTA_PREF, b"\0"),
    )
    assert one(data) == (Route.via("2001:db8:1::/48", GW6), 1024)


def test_ipv4_route_without_priority_gets_the_kernel_default_metric() -> None:
    data = route(AF4, "192.0.2.0", 24, addr(RTA_GATEWAY, GW4), u32(RTA_OIF, 3))
    assert one(data) == (Route.via("192.0.2.0/24", GW4), 0)


def test_ipv6_route_without_priority_gets_1024_and_without_dst_is_the_default_route() -> None:
    assert one(route(AF6, None, 0, addr(RTA_GATEWAY, GW6))) == (Route.via("::/0", GW6), 1024)


def test_rfc5549_ipv4_route_via_an_ipv6_next_hop() -> None:
    data = route(AF4, "203.0.113.64", 26, u32(RTA_OIF, 3), via(GW6))
    assert one(data) == (Route.via("203.0.113.64/26", GW6), 0)


def test_link_local_gateway_keeps_its_interface_others_drop_it() -> None:
    data = route(AF6, "2001:db8:2::", 48, u32(RTA_OIF, 9), addr(RTA_GATEWAY, "fe80::2"))
    assert one(data)[0].nexthops == (NextHop("fe80::2", 9),)
    data = route(AF6, "2001:db8:2::", 48, u32(RTA_OIF, 9), addr(RTA_GATEWAY, GW6))
    assert one(data)[0].nexthops == (NextHop(GW6),)


def test_multipath_with_weights_vias_and_interfaces() -> None:
    hops = (
        rtnexthop(3, 2, addr(RTA_GATEWAY, GW4))
        + rtnexthop(3, 0, via(GW6B))
        + rtnexthop(4, 0, addr(RTA_GATEWAY, "198.51.100.3"), attr(0x7F, b"xyz"))
        + rtnexthop(4, 0)  # a device-only hop: no gateway, not a next hop we write
    )
    data = route(AF4, "203.0.113.0", 24, u32(RTA_PRIORITY, 20), attr(RTA_MULTIPATH, hops))
    expected = Route(
        "203.0.113.0/24",
        (NextHop(GW4, weight=3), NextHop(GW6B), NextHop("198.51.100.3")),
    )
    assert one(data) == (expected, 20)


def test_ipv6_multipath_with_link_local_hops_keeps_their_interfaces() -> None:
    hops = rtnexthop(5, 0, addr(RTA_GATEWAY, "fe80::2")) + rtnexthop(6, 4, addr(RTA_GATEWAY, GW6))
    data = route(AF6, "2001:db8:e::", 48, attr(RTA_MULTIPATH | NLA_F_NESTED, hops))
    expected = Route("2001:db8:e::/48", (NextHop("fe80::2", 5), NextHop(GW6, weight=5)))
    assert one(data) == (expected, 1024)


def test_rta_table_overrides_rtm_table() -> None:
    data = route(AF6, "2001:db8:3::", 48, addr(RTA_GATEWAY, GW6), table=1000)
    assert data[20] == 252  # rtm_table: RT_TABLE_COMPAT for ids above 255
    assert one(data, tables={1000}) == (Route.via("2001:db8:3::/48", GW6, table=1000), 1024)
    assert decode_all(data + done(), tables={252}).routes == []


def test_routes_of_other_protocols_tables_and_families_are_dropped() -> None:
    ours = route(AF6, "2001:db8:4::", 48, addr(RTA_GATEWAY, GW6))
    datagram = (
        route(AF6, "2001:db8:5::", 48, addr(RTA_GATEWAY, GW6), protocol=4)
        + ours
        + route(AF6, "2001:db8:6::", 48, addr(RTA_GATEWAY, GW6), table=100)
        + route(AF4, "192.0.2.0", 24, addr(RTA_GATEWAY, GW4), protocol=186)
        + route(28, "2001:db8:7::", 48)  # AF_MPLS: never ours
        + done()
    )
    assert decode_all(datagram).routes == [(Route.via("2001:db8:4::/48", GW6), 1024)]


@pytest.mark.parametrize(
    "shape",
    [
        (RTN_BLACKHOLE, ()),
        (RTN_UNICAST, (u32(RTA_OIF, 3),)),  # device route: no gateway
        (RTN_UNICAST, (attr(RTA_GATEWAY, b"\x01\x02\x03"),)),  # gateway of the wrong size
        (RTN_UNICAST, (attr(RTA_VIA, b"\x0a\x00\x01"),)),  # via too short for its family
        (RTN_UNICAST, (addr(RTA_GATEWAY, GW4),)),  # IPv4 gateway length on an IPv6 route
    ],
    ids=["blackhole", "device-only", "short-gateway", "short-via", "wrong-family-gateway"],
)
def test_routes_of_ours_we_never_write_come_back_with_the_unspecified_gateway(
    shape: tuple[int, tuple[bytes, ...]],
) -> None:
    rtype, attrs = shape
    data = route(AF6, "2001:db8:8::", 48, *attrs, rtype=rtype)
    assert one(data) == (Route.via("2001:db8:8::/48", "::"), 1024)


def test_unknown_attributes_are_skipped() -> None:
    data = route(
        AF6,
        "2001:db8:9::",
        48,
        attr(0x1FF, b"\xff" * 7),  # a type from the future, odd length
        attr(0x200 | NLA_F_NESTED, attr(1, b"nested")),
        attr(0x3FF, b""),  # empty payload
        addr(RTA_PREFSRC, "2001:db8:ff::1"),
        addr(RTA_GATEWAY, GW6),
        u32(RTA_PRIORITY, 300),
        attr(0x3FFE, bytes(64)),
    )
    assert one(data) == (Route.via("2001:db8:9::/48", GW6), 300)


def test_known_attributes_of_the_wrong_size_are_skipped() -> None:
    data = route(
        AF6,
        "2001:db8:a::",
        48,
        attr(RTA_PRIORITY, b"\x01\x02"),  # too short for a u32
        attr(RTA_DST, bytes(4)),  # a second, wrong-sized destination
        addr(RTA_GATEWAY, GW6),
    )
    assert one(data) == (Route.via("2001:db8:a::/48", GW6), 1024)


def test_attribute_running_past_the_message_end_stops_the_walk_only() -> None:
    broken = struct.pack("=HH", 200, RTA_GATEWAY) + socket.inet_pton(AF6, GW6B)
    data = route(AF6, "2001:db8:b::", 48, addr(RTA_GATEWAY, GW6), broken)
    assert one(data) == (Route.via("2001:db8:b::/48", GW6), 1024)


# -- datagrams and the end of a dump ------------------------------------------------------


def test_a_dump_spread_over_datagrams_ends_at_done_and_ignores_other_sequences() -> None:
    first = b"".join(route(AF6, f"2001:db8:{i}::", 48, addr(RTA_GATEWAY, GW6)) for i in range(1, 4))
    stray = route(AF6, "2001:db8:99::", 48, addr(RTA_GATEWAY, GW6), seq=SEQ + 1)
    second = stray + route(AF6, "2001:db8:4::", 48, addr(RTA_GATEWAY, GW6)) + done()
    replies = decode_all(first)
    assert not replies.done
    replies.feed(second)
    assert replies.done and not replies.interrupted
    assert [r.dst for r, _ in replies.routes] == [f"2001:db8:{i}::/48" for i in range(1, 5)]


def test_dump_interrupted_flag_is_noticed() -> None:
    data = route(
        AF6, "2001:db8:1::", 48, addr(RTA_GATEWAY, GW6), flags=NLM_F_MULTI | NLM_F_DUMP_INTR
    )
    assert decode_all(data + done()).interrupted


def test_done_with_an_errno_raises_it_with_the_extended_ack_text() -> None:
    tlvs = attr(1, b"FIB table does not exist\0")
    with pytest.raises(RouteSyncError) as caught:
        decode_all(done(error=-errno.ENOENT, flags=NLM_F_MULTI | 0x200, tlvs=tlvs))
    assert caught.value.errno == errno.ENOENT
    assert caught.value.message == "FIB table does not exist"


def test_nlmsg_error_raises_the_mapped_error() -> None:
    request = dump_request(AF6, SEQ, table=254, protocol=196)
    text = "Invalid values in header for FIB dump request"
    with pytest.raises(InvalidRoute) as caught:
        decode_all(nlmsgerr(errno.EINVAL, request, text=text))
    assert (caught.value.errno, caught.value.message) == (errno.EINVAL, text)


def test_uncapped_nlmsg_error_text_is_found_after_the_echoed_request() -> None:
    request = dump_request(AF6, SEQ, table=1000, protocol=196)
    body = struct.pack("=i", -errno.EINVAL) + request + attr(1, b"bad\0")
    with pytest.raises(InvalidRoute, match="bad"):
        decode_all(message(2, body, flags=0x200))


def test_a_message_longer_than_its_datagram_is_an_error() -> None:
    data = route(AF6, "2001:db8:1::", 48, addr(RTA_GATEWAY, GW6))
    with pytest.raises(RouteSyncError) as caught:
        decode_all(data[:-4])
    assert caught.value.errno == errno.EBADMSG


# -- requests ------------------------------------------------------------------------------


def test_filtered_request_names_table_and_protocol() -> None:
    request = dump_request(AF6, 9, table=1000, protocol=196)
    length, kind, flags, seq, pid = struct.unpack_from("=IHHII", request)
    assert (length, kind, flags, seq, pid) == (len(request), 26, 0x301, 9, 0)
    family, dst_len, src_len, tos, table, protocol, scope, rtype, rflags = struct.unpack_from(
        "=BBBBBBBBI", request, 16
    )
    assert (family, table, protocol) == (AF6, 0, 196)
    assert (dst_len, src_len, tos, scope, rtype, rflags) == (0, 0, 0, 0, 0, 0)  # strict rules
    assert request[28:] == u32(RTA_TABLE, 1000)
    assert dump_request(AF4, 9, table=254, protocol=196)[20] == 254


def test_plain_request_is_a_bare_rtmsg() -> None:
    request = dump_request(AF4, 3)
    assert len(request) == 28
    assert request[16:] == bytes([AF4]) + bytes(11)


# -- the reader over a fake socket ---------------------------------------------------------


class FakeNetlink:
    """Answers every request sent with the datagrams ``answer(family, table, seq, attempt)``."""

    def __init__(
        self,
        answer: Callable[[int, int | None, int, int], list[bytes]],
        *,
        strict: bool = True,
    ) -> None:
        self.answer = answer
        self.strict = strict
        self.requests: list[tuple[int, int | None]] = []
        self.pending: deque[bytes] = deque()
        self.truncate = False

    def setsockopt(self, level: int, option: int, value: int) -> None:
        if option == NETLINK_GET_STRICT_CHK and level == 270 and not self.strict:
            raise OSError(errno.ENOPROTOOPT, "Protocol not available")

    def bind(self, address: object) -> None:
        pass

    def settimeout(self, timeout: float) -> None:
        pass

    def close(self) -> None:
        pass

    def send(self, request: bytes) -> int:
        family = request[16]
        (seq,) = struct.unpack_from("=I", request, 8)
        table = struct.unpack_from("=I", request, 32)[0] if len(request) > 28 else None
        attempt = self.requests.count((family, table))
        self.requests.append((family, table))
        self.pending.extend(self.answer(family, table, seq, attempt))
        return len(request)

    def recvmsg_into(self, buffers: list[bytearray]) -> tuple[int, list[object], int, None]:
        if not self.pending:
            raise TimeoutError
        data = self.pending.popleft()
        buffers[0][: len(data)] = data
        return len(data), [], socket.MSG_TRUNC if self.truncate else 0, None


def reader_over(fake: FakeNetlink, *, strict: bool = True) -> RouteDumpReader:
    return RouteDumpReader(fake, strict=strict)  # type: ignore[arg-type]


def test_reader_dumps_each_family_and_table_skips_missing_tables_and_retries_interrupts() -> None:
    def answer(family: int, table: int | None, seq: int, attempt: int) -> list[bytes]:
        if family == AF4 and table == 1000:
            return [done(seq=seq, error=-errno.ENOENT)]  # table never created
        if family == AF4:
            return [route(AF4, "192.0.2.0", 24, via(GW6), seq=seq) + done(seq=seq)]
        flags = NLM_F_MULTI | (NLM_F_DUMP_INTR if attempt == 0 and table == 254 else 0)
        dst = "2001:db8:1::" if table == 254 else "2001:db8:2::"
        first = route(AF6, dst, 48, addr(RTA_GATEWAY, GW6), table=table or 0, seq=seq)
        return [first, done(seq=seq, flags=flags)]

    fake = FakeNetlink(answer)
    with reader_over(fake) as reader:
        assert reader.strict
        found = reader.dump(tables={1000, 254}, protocol=196)
    assert fake.requests == [(AF4, 254), (AF4, 1000), (AF6, 254), (AF6, 254), (AF6, 1000)]
    assert found == [
        (Route.via("192.0.2.0/24", GW6), 0),
        (Route.via("2001:db8:1::/48", GW6), 1024),  # once: the interrupted attempt is dropped
        (Route.via("2001:db8:2::/48", GW6, table=1000), 1024),
    ]


def test_reader_takes_the_last_attempt_when_every_dump_is_interrupted() -> None:
    def answer(family: int, table: int | None, seq: int, attempt: int) -> list[bytes]:
        routes = route(AF6, f"2001:db8:{attempt}::", 48, addr(RTA_GATEWAY, GW6), seq=seq)
        return [routes + done(seq=seq, flags=NLM_F_MULTI | NLM_F_DUMP_INTR)]

    with reader_over(FakeNetlink(answer)) as reader:
        found = reader.dump(tables={254}, protocol=196)
    assert [r.dst for r, _ in found] == ["2001:db8:2::/48"] * 2  # IPv4 and IPv6 dumps


def test_without_strict_checking_each_family_is_dumped_once_and_filtered_here() -> None:
    def answer(family: int, table: int | None, seq: int, attempt: int) -> list[bytes]:
        assert table is None
        if family == AF4:
            return [route(AF4, "192.0.2.0", 24, addr(RTA_GATEWAY, GW4), seq=seq, protocol=2)
                    + done(seq=seq)]  # fmt: skip
        return [
            route(AF6, "2001:db8:1::", 48, addr(RTA_GATEWAY, GW6), seq=seq)
            + route(AF6, "2001:db8:2::", 48, addr(RTA_GATEWAY, GW6), seq=seq, table=100)
            + route(AF6, "2001:db8:3::", 48, addr(RTA_GATEWAY, GW6), seq=seq, table=1000)
            + route(AF6, "2001:db8:4::", 48, addr(RTA_GATEWAY, GW6), seq=seq, protocol=186),
            done(seq=seq),
        ]

    for fake, strict in ((FakeNetlink(answer, strict=False), True), (FakeNetlink(answer), False)):
        with reader_over(fake, strict=strict) as reader:
            assert not reader.strict
            found = reader.dump(tables={254, 1000}, protocol=196)
        assert fake.requests == [(AF4, None), (AF6, None)]
        assert found == [
            (Route.via("2001:db8:1::/48", GW6), 1024),
            (Route.via("2001:db8:3::/48", GW6, table=1000), 1024),
        ]


def test_reader_raises_kernel_errors_truncation_and_silence() -> None:
    def refuse(family: int, table: int | None, seq: int, attempt: int) -> list[bytes]:
        return [nlmsgerr(errno.EINVAL, dump_request(family, seq), seq=seq, text="no")]

    with reader_over(FakeNetlink(refuse)) as reader, pytest.raises(InvalidRoute, match="no"):
        reader.dump(tables={254}, protocol=196)

    def enoent(family: int, table: int | None, seq: int, attempt: int) -> list[bytes]:
        return [done(seq=seq, error=-errno.ENOENT)]

    # ENOENT means "no such table" only for a filtered dump; unfiltered, it is an error.
    with reader_over(FakeNetlink(enoent, strict=False)) as reader:
        with pytest.raises(RouteSyncError) as caught:
            reader.dump(tables={254}, protocol=196)
        assert caught.value.errno == errno.ENOENT

    def nothing(family: int, table: int | None, seq: int, attempt: int) -> list[bytes]:
        return []

    with reader_over(FakeNetlink(nothing)) as reader:
        with pytest.raises(RouteSyncError) as caught:
            reader.dump(tables={254}, protocol=196)
        assert caught.value.errno == errno.ETIMEDOUT

    fake = FakeNetlink(enoent)
    fake.truncate = True
    with reader_over(fake) as reader:
        with pytest.raises(RouteSyncError) as caught:
            reader.dump(tables={254}, protocol=196)
        assert caught.value.errno == errno.EMSGSIZE
