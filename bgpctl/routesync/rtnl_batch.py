"""Struct-packed rtnetlink batch writer: the hot add/replace/delete path, and nothing else.

Why not pyroute2 here: measured on this class of machine (docs/routesync.md, lab notes §4),
pyroute2 0.9.7 spends about 0.7 ms of Python per route in its request/argument machinery,
i.e. 1.2-1.4k routes/s one call per route and 2.3k/s with ``nlm_request_batch``, against
44k/s for ``ip -batch``. Packing the messages ourselves and sending thousands per
``send()`` reaches 30k+/s, which the engine needs to stay ahead of GoBGP. pyroute2 is
still used for everything else (dumps, addresses, links) in :mod:`.netlink`.

Protocol facts this module relies on (rtnetlink(7), netlink(7)):

* ``NETLINK_ROUTE`` requests sent to the kernel are processed synchronously inside
  ``send()``, in order, each message on its own: a failing message does not stop the
  ones after it. So when ``send()`` returns, every ack is already queued on the socket
  and a non-blocking drain collects them all.
* Every message carries ``NLM_F_ACK`` and its own sequence number, so each route gets an
  ``NLMSG_ERROR`` reply (error 0 = success) that is matched back by ``seq``. Asking only
  for errors would be cheaper, but then a reply lost to a full receive buffer would look
  like success; with an ack per message a lost reply is detected (:class:`AcksLost`).
* ``NETLINK_CAP_ACK`` keeps error replies small (the request is not echoed back);
  ``NETLINK_EXT_ACK`` adds the kernel's error text ("Nexthop has invalid gateway").
* Adds use ``NLM_F_CREATE|NLM_F_EXCL``: if any route (of any protocol) holds the same
  table, prefix and metric, the kernel answers EEXIST instead of merging into or
  replacing it. ``NLM_F_REPLACE`` is only sent for keys the engine knows are its own.
  Deletes carry our protocol, metric and table, so the kernel only ever matches ours.

Message layout: ``nlmsghdr`` (16 bytes) + ``rtmsg`` (12) + ``RTA_TABLE`` + ``RTA_PRIORITY``
+ ``RTA_DST``, then the next hop: ``RTA_GATEWAY`` (same family), ``RTA_VIA`` (IPv6 next
hop of an IPv4 route, RFC 5549), optional ``RTA_OIF``, or ``RTA_MULTIPATH`` of
``rtnexthop`` entries for ECMP.
"""

from __future__ import annotations

import errno as errnos
import select
import socket
import struct
from collections.abc import Sequence

from bgpctl.routesync.errors import AcksLost, RouteSyncError, error_for
from bgpctl.routesync.types import NextHop, Op, OpKind

NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33

RTM_NEWROUTE = 24
RTM_DELROUTE = 25
NLMSG_ERROR = 2
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_REPLACE = 0x100
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLM_F_ACK_TLVS = 0x200
NLMSGERR_ATTR_MSG = 1

RTA_DST = 1
RTA_OIF = 4
RTA_GATEWAY = 5
RTA_PRIORITY = 6
RTA_MULTIPATH = 9
RTA_TABLE = 15
RTA_VIA = 18
RTN_UNICAST = 1
RT_SCOPE_UNIVERSE = 0
RT_SCOPE_NOWHERE = 255

AF_INET = socket.AF_INET
AF_INET6 = socket.AF_INET6

DEFAULT_MAX_BATCH = 2000
"""Messages per ``send()``. About 170 KB of requests and 2000 queued acks."""
DEFAULT_BUFFER = 32 << 20
"""Socket buffer (bytes) forced on both directions; each queued ack costs ~1 KB of it."""

_FLAGS = {
    OpKind.ADD: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
    OpKind.REPLACE: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
    OpKind.DELETE: NLM_F_REQUEST | NLM_F_ACK,
}
# nlmsghdr, rtmsg, RTA_TABLE u32, RTA_PRIORITY u32, RTA_DST header (address follows).
_HEAD = struct.Struct("=IHHII BBBBBBBBI HHI HHI HH")
_HEAD_LEN = _HEAD.size
_NLMSGHDR = struct.Struct("=IHHII")
_NLMSGERR = struct.Struct("=i")
_RTATTR = struct.Struct("=HH")
_OIF = struct.Struct("=HHi")
_VIA = struct.Struct("=HHH")
_RTNEXTHOP = struct.Struct("=HBBi")
_NEXTHOP_CACHE_LIMIT = 4096
_ACK_WAIT = 0.05


class RtnlBatchWriter:
    """Writes batches of route operations over one raw ``NETLINK_ROUTE`` socket.

    Not thread-safe; the owner serialises calls (the engine has a single writer). Calls
    block for the kernel's processing time of a batch (about 20 us per route), so async
    callers run large batches in a thread.
    """

    def __init__(
        self,
        sock: socket.socket | None = None,
        *,
        protocol: int,
        max_batch: int = DEFAULT_MAX_BATCH,
        buffer_size: int = DEFAULT_BUFFER,
    ) -> None:
        """Create the writer.

        Args:
            sock: an unbound ``AF_NETLINK``/``NETLINK_ROUTE`` raw socket (one created in
                another network namespace programs that namespace); None to open one here.
            protocol: route protocol number stamped on every message (``rtm_protocol``).
            max_batch: messages per ``send()``.
            buffer_size: bytes to force for the send and receive buffers.
        """
        self._protocol = protocol
        self._max_batch = max_batch
        if sock is None:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        self._sock = sock
        for force, plain in (
            (SO_SNDBUFFORCE, socket.SO_SNDBUF),
            (SO_RCVBUFFORCE, socket.SO_RCVBUF),
        ):
            try:
                sock.setsockopt(socket.SOL_SOCKET, force, buffer_size)
            except PermissionError:
                sock.setsockopt(socket.SOL_SOCKET, plain, buffer_size)
        sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        sock.bind((0, 0))
        # getsockopt reports the kernel's doubled bookkeeping value; stay within half.
        self._send_limit = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) // 2 - 32
        self._seq = 1
        self._recv_buffer = bytearray(65536)
        self._nexthop_cache: dict[tuple[int, tuple[NextHop, ...]], bytes] = {}

    def close(self) -> None:
        """Close the socket."""
        self._sock.close()

    def fileno(self) -> int:
        """The socket's file descriptor."""
        return self._sock.fileno()

    def write(self, ops: Sequence[Op]) -> dict[int, RouteSyncError]:
        """Apply ``ops`` in order, ``max_batch`` messages per ``send()``.

        Returns:
            Failures only, keyed by index into ``ops``. A delete that found nothing is
            reported as :class:`RouteNotFound`; writes whose ack never came are reported
            as :class:`AcksLost`.

        Raises:
            OSError: the socket itself failed (not a per-route error).
        """
        failures: dict[int, RouteSyncError] = {}
        step = self._max_batch
        for start in range(0, len(ops), step):
            chunk = ops[start : start + step]
            for index, error in self._write_chunk(chunk).items():
                failures[start + index] = error
        return failures

    def _write_chunk(self, ops: Sequence[Op]) -> dict[int, RouteSyncError]:
        base = self._seq
        if base + len(ops) > 0x7FFFFFFF:  # wrap, keeping seq - base a plain index
            base = 1
        self._seq = base + len(ops)
        encode = self._encode
        messages = [encode(op, base + i) for i, op in enumerate(ops)]
        # netlink refuses a send() larger than the socket's send buffer (EMSGSIZE), so
        # split by bytes as well as by count.
        failures: dict[int, RouteSyncError] = {}
        start = size = 0
        for end, message in enumerate(messages):
            if size + len(message) > self._send_limit and end > start:
                failures.update(self._send(messages, start, end, base))
                start, size = end, 0
            size += len(message)
        failures.update(self._send(messages, start, len(messages), base))
        return failures

    def _send(
        self, messages: list[bytes], start: int, end: int, base: int
    ) -> dict[int, RouteSyncError]:
        self._sock.send(b"".join(messages[start:end]))
        return {
            start + index: error
            for index, error in self._collect_acks(base + start, end - start).items()
        }

    def _encode(self, op: Op, seq: int) -> bytes:
        kind, route, metric = op
        addr, _, length = route.dst.partition("/")
        if ":" in addr:
            family, dst = AF_INET6, socket.inet_pton(AF_INET6, addr)
        else:
            family, dst = AF_INET, socket.inet_pton(AF_INET, addr)
        table = route.table
        if kind == OpKind.DELETE:
            body, msg_type, scope, rtype = b"", RTM_DELROUTE, RT_SCOPE_NOWHERE, 0
        else:
            cache_key = (family, route.nexthops)
            body = self._nexthop_cache.get(cache_key)  # type: ignore[assignment]
            if body is None:
                body = _encode_nexthops(family, route.nexthops)
                if len(self._nexthop_cache) >= _NEXTHOP_CACHE_LIMIT:
                    self._nexthop_cache.clear()
                self._nexthop_cache[cache_key] = body
            msg_type, scope, rtype = RTM_NEWROUTE, RT_SCOPE_UNIVERSE, RTN_UNICAST
        total = _HEAD_LEN + len(dst) + len(body)
        return (
            _HEAD.pack(
                total, msg_type, _FLAGS[kind], seq, 0,
                family, int(length), 0, 0, table if table < 256 else 0,
                self._protocol, scope, rtype, 0,
                8, RTA_TABLE, table,
                8, RTA_PRIORITY, metric,
                4 + len(dst), RTA_DST,
            )
            + dst
            + body
        )  # fmt: skip

    def _collect_acks(self, base: int, count: int) -> dict[int, RouteSyncError]:
        failures: dict[int, RouteSyncError] = {}
        seen = bytearray(count)
        pending = count
        buffer = self._recv_buffer
        sock = self._sock
        unpack_header = _NLMSGHDR.unpack_from
        unpack_error = _NLMSGERR.unpack_from
        lost = False
        waited = False
        while pending:
            try:
                size = sock.recv_into(buffer, 0, socket.MSG_DONTWAIT)
            except BlockingIOError:
                # All acks are queued by the time send() returns; waiting once more only
                # guards against a kernel that ever defers the work.
                if waited or not select.select([sock], [], [], _ACK_WAIT)[0]:
                    break
                waited = True
                continue
            except OSError as exc:
                if exc.errno != errnos.ENOBUFS:
                    raise
                lost = True  # the receive queue overflowed and dropped acks
                continue
            offset = 0
            while offset + 16 <= size:
                length, msg_type, flags, seq, _ = unpack_header(buffer, offset)
                index = seq - base
                if msg_type == NLMSG_ERROR and 0 <= index < count and not seen[index]:
                    seen[index] = 1
                    pending -= 1
                    (error,) = unpack_error(buffer, offset + 16)
                    if error:
                        text = _ext_ack_text(buffer, offset, length, flags)
                        failures[index] = error_for(-error, text)
                offset += (length + 3) & ~3 if length else size
        if pending:
            reason = "receive buffer overflow" if lost else "ack not received"
            for index in range(count):
                if not seen[index]:
                    failures[index] = AcksLost(errnos.ENOBUFS, reason)
        return failures


def _encode_nexthops(family: int, nexthops: tuple[NextHop, ...]) -> bytes:
    if len(nexthops) == 1:
        nexthop = nexthops[0]
        body = _gateway_attr(family, nexthop)
        if nexthop.ifindex:
            body += _OIF.pack(8, RTA_OIF, nexthop.ifindex)
        return body
    entries = []
    for nexthop in nexthops:
        gateway = _gateway_attr(family, nexthop)
        entries.append(
            _RTNEXTHOP.pack(8 + len(gateway), 0, nexthop.weight - 1, nexthop.ifindex) + gateway
        )
    payload = b"".join(entries)
    return _RTATTR.pack(4 + len(payload), RTA_MULTIPATH) + payload


def _gateway_attr(route_family: int, nexthop: NextHop) -> bytes:
    gateway_family = AF_INET6 if ":" in nexthop.gateway else AF_INET
    address = socket.inet_pton(gateway_family, nexthop.gateway)
    if gateway_family == route_family:
        return _RTATTR.pack(4 + len(address), RTA_GATEWAY) + address
    # RFC 5549: RTA_VIA = struct rtvia { u16 family; u8 addr[] }, padded to 4 bytes.
    return _VIA.pack(6 + len(address), RTA_VIA, gateway_family) + address + b"\0\0"


def _ext_ack_text(buffer: bytearray, offset: int, length: int, flags: int) -> str:
    """Return the NLMSGERR_ATTR_MSG string of an error ack, or "" if there is none."""
    if not flags & NLM_F_ACK_TLVS:
        return ""
    position = offset + 16 + 4 + 16  # nlmsghdr, error, echoed header (capped)
    end = offset + length
    while position + 4 <= end:
        attr_len, attr_type = _RTATTR.unpack_from(buffer, position)
        if attr_len < 4:
            break
        if attr_type & 0x3FFF == NLMSGERR_ATTR_MSG:
            return (
                bytes(buffer[position + 4 : position + attr_len])
                .rstrip(b"\0")
                .decode(errors="replace")
            )
        position += (attr_len + 3) & ~3
    return ""
