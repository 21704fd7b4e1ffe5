"""NetlinkRouteTable: the kernel RouteTable. The only module that imports pyroute2.

The hot add/replace/delete path goes through :class:`.rtnl_batch.RtnlBatchWriter`, and
the start-up read of our routes through :class:`.rtnl_dump.RouteDumpReader` (see their
docstrings for why: pyroute2 spends 0.1-0.7 ms of Python per route in both directions).
pyroute2 still reads the local addresses, and keeps a reference route dump
(:meth:`NetlinkRouteTable.dump_with_pyroute2`) that tests and benchmarks compare with.

Route dumps are filtered by the kernel (``NETLINK_GET_STRICT_CHK`` with protocol and table
in the request), so routes of other protocols and tables are never even read. Every dump
runs in a worker thread over a socket opened for it, so that decoding 100k routes does
not stall the caller's loop; pyroute2 runs its ``AsyncIPRoute`` on a private event loop
in that thread.

Writes of up to ``inline_limit`` routes (about 20 us of kernel time each) run on the loop;
larger batches run in a worker thread so the loop keeps serving gRPC meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import os
import socket
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from bgpctl.runtime.client.lean_import import placeholder_packages

# Before the pyroute2 imports: its package __init__ imports every netlink family the
# library supports (NDB, IPDB, nl80211, nftables, ...), 12.6 MB of RSS; the modules
# used here take 6.8 MB. The exports are what pyroute2's own modules import from it.
placeholder_packages({"pyroute2": {"AsyncIPRoute": "iproute", "IPRoute": "iproute"}})

from pyroute2.iproute import AsyncIPRoute  # noqa: E402
from pyroute2.netlink import NLM_F_DUMP, NLM_F_REQUEST  # noqa: E402
from pyroute2.netlink.exceptions import NetlinkError  # noqa: E402
from pyroute2.netlink.rtnl import RTM_GETROUTE  # noqa: E402
from pyroute2.netlink.rtnl.rtmsg import rtmsg  # noqa: E402

from bgpctl.routesync.errors import RouteSyncError, error_for  # noqa: E402
from bgpctl.routesync.prefixes import AF_INET, AF_INET6, canonical_address  # noqa: E402
from bgpctl.routesync.rtnl_batch import NETLINK_ROUTE, RtnlBatchWriter  # noqa: E402
from bgpctl.routesync.rtnl_dump import RouteDumpReader, kernel_nexthop  # noqa: E402
from bgpctl.routesync.types import NextHop, Op, Route  # noqa: E402

_CLONE_NEWNET = 0x40000000
_NETNS_DIR = "/run/netns"
DEFAULT_INLINE_LIMIT = 128
"""Largest batch written on the event loop itself (about 3 ms of kernel time)."""


class NetlinkRouteTable:
    """A kernel routing table over netlink, optionally in a named network namespace.

    Use as ``async with NetlinkRouteTable(...) as table`` or call :meth:`open` /
    :meth:`close`.
    """

    def __init__(
        self,
        *,
        protocol: int,
        netns: str | None = None,
        inline_limit: int = DEFAULT_INLINE_LIMIT,
        max_batch: int | None = None,
        buffer_size: int | None = None,
    ) -> None:
        """Describe the table; sockets are opened by :meth:`open`.

        Args:
            protocol: route protocol number written on every route.
            netns: name of a network namespace under /run/netns (None: the current one).
            inline_limit: largest batch written without a worker thread.
            max_batch: messages per ``send()`` (default: the writer's).
            buffer_size: socket buffer bytes of the writer (default: the writer's).
        """
        self._protocol = protocol
        self._netns = netns
        self._inline_limit = inline_limit
        self._max_batch = max_batch
        self._buffer_size = buffer_size
        self._writer: RtnlBatchWriter | None = None
        # A write in a worker thread can outlive a cancelled caller; close() waits for it.
        self._write_lock = threading.Lock()

    async def open(self) -> None:
        """Open the netlink sockets (in the namespace, if one was named).

        Raises:
            OSError: the namespace does not exist or sockets cannot be opened.
        """
        await asyncio.to_thread(self._open_sync)

    async def close(self) -> None:
        """Close the sockets."""
        await asyncio.to_thread(self._close_sync)

    async def __aenter__(self) -> NetlinkRouteTable:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def dump(self, *, tables: frozenset[int], protocol: int) -> list[tuple[Route, int]]:
        """Return ``(route, metric)`` for every route of ``protocol`` in ``tables``.

        Read by :class:`.rtnl_dump.RouteDumpReader` in a worker thread; cancelling the
        caller does not stop the read, whose result is then dropped.

        Raises:
            RouteSyncError: the kernel refused or aborted the dump.
            OSError: the namespace or the socket is unusable.
            RuntimeError: the table is not open.
        """
        self._require_writer()
        return await asyncio.to_thread(self._dump_routes_sync, tables, protocol)

    async def dump_with_pyroute2(
        self, *, tables: frozenset[int], protocol: int
    ) -> list[tuple[Route, int]]:
        """The same as :meth:`dump`, decoded by pyroute2: the reference for tests and benchmarks.

        About 100 times slower than :meth:`dump` (0.1-0.4 ms of Python per route).
        """
        return await asyncio.to_thread(asyncio.run, self._dump_routes(tables, protocol))

    async def local_addresses(self) -> frozenset[str]:
        """Return every address on the namespace's interfaces."""
        return await asyncio.to_thread(asyncio.run, self._dump_addresses())

    async def write(self, ops: Sequence[Op]) -> dict[int, RouteSyncError]:
        """Apply ``ops`` in order; return failures by index (see :class:`RouteTable`)."""
        if len(ops) <= self._inline_limit:
            return self._write_sync(ops)
        return await asyncio.to_thread(self._write_sync, ops)

    # -- sync internals (worker threads) --------------------------------------------------

    def _require_writer(self) -> RtnlBatchWriter:
        if self._writer is None:
            raise RuntimeError("NetlinkRouteTable is not open")
        return self._writer

    def _write_sync(self, ops: Sequence[Op]) -> dict[int, RouteSyncError]:
        with self._write_lock:
            return self._require_writer().write(ops)

    def _open_sync(self) -> None:
        raw = socket_in_netns(self._netns, socket.SOCK_RAW)
        kwargs: dict[str, Any] = {"protocol": self._protocol}
        if self._max_batch is not None:
            kwargs["max_batch"] = self._max_batch
        if self._buffer_size is not None:
            kwargs["buffer_size"] = self._buffer_size
        self._writer = RtnlBatchWriter(raw, **kwargs)

    def _close_sync(self) -> None:
        with self._write_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    def _dump_routes_sync(self, tables: frozenset[int], protocol: int) -> list[tuple[Route, int]]:
        with RouteDumpReader(socket_in_netns(self._netns, socket.SOCK_RAW)) as reader:
            return reader.dump(tables=tables, protocol=protocol)

    def _pyroute2(self) -> AsyncIPRoute:
        self._require_writer()
        sock = socket_in_netns(self._netns, socket.SOCK_DGRAM)
        # pyroute2 takes ownership of the descriptor; groups=0: no multicast traffic.
        return AsyncIPRoute(fileno=sock.detach(), groups=0, strict_check=True, ext_ack=True)

    async def _dump_routes(self, tables: frozenset[int], protocol: int) -> list[tuple[Route, int]]:
        found: list[tuple[Route, int]] = []
        with _translate_errors():
            async with self._pyroute2() as ipr:
                for family in (AF_INET, AF_INET6):
                    for table in sorted(tables):
                        request = rtmsg()
                        request["family"] = family
                        request["table"] = table if table < 256 else 0
                        request["proto"] = protocol
                        request["attrs"] = [("RTA_TABLE", table)]
                        try:
                            messages = await ipr.nlm_request(
                                request,
                                msg_type=RTM_GETROUTE,
                                msg_flags=NLM_F_REQUEST | NLM_F_DUMP,
                            )
                            async for message in messages:
                                route = _route_from_message(message, family, protocol, table)
                                if route is not None:
                                    found.append(route)
                        except NetlinkError as exc:
                            # A strict IPv4 dump of a table that was never used fails
                            # with ENOENT ("FIB table does not exist"): nothing of ours.
                            if exc.code != errno.ENOENT:
                                raise
        return found

    async def _dump_addresses(self) -> frozenset[str]:
        found: set[str] = set()
        with _translate_errors():
            async with self._pyroute2() as ipr:
                async for message in await ipr.get_addr():
                    for address in (message.get("address"), message.get("local")):
                        if address:
                            found.add(canonical_address(str(address)))
        return frozenset(found)


def _route_from_message(
    message: Any, family: int, protocol: int, table: int
) -> tuple[Route, int] | None:
    # The kernel filtered already; check again in case of a kernel without strict dumps.
    if message.get("proto") != protocol or message.get("table") != table:
        return None
    if message.get("type") not in (None, 1):  # RTN_UNICAST; ours are always unicast
        nexthops: tuple[NextHop, ...] = ()
    else:
        nexthops = tuple(_nexthops_from_message(message))
    dst = message.get("dst") or ("::" if family == AF_INET6 else "0.0.0.0")
    prefix = f"{dst}/{message.get('dst_len', 0)}"
    if not nexthops:
        # Ours but not a shape we write (no gateway, blackhole): record it with the
        # unspecified gateway so it differs from every desired route and gets rewritten.
        nexthops = (NextHop("::" if family == AF_INET6 else "0.0.0.0"),)
    metric = message.get("priority") or (1024 if family == AF_INET6 else 0)
    return Route(prefix, nexthops, table), metric


def _nexthops_from_message(message: Any) -> Iterator[NextHop]:
    multipath = message.get("multipath")
    if multipath:
        for entry in multipath:
            gateway = _gateway_of(entry)
            if gateway:
                yield kernel_nexthop(gateway, entry.get("oif") or 0, entry.get("hops", 0) + 1)
        return
    gateway = _gateway_of(message)
    if gateway:
        yield kernel_nexthop(gateway, message.get("oif") or 0, 1)


def _gateway_of(message: Any) -> str | None:
    gateway = message.get("gateway")
    if gateway:
        return str(gateway)
    via = message.get("via")
    if via:
        return str(via.get("addr"))
    return None


@contextlib.contextmanager
def _translate_errors() -> Iterator[None]:
    try:
        yield
    except NetlinkError as exc:
        raise error_for(exc.code, str(exc)) from exc


def socket_in_netns(netns: str | None, kind: int) -> socket.socket:
    """Open a ``NETLINK_ROUTE`` socket of ``kind`` (``SOCK_RAW``, ``SOCK_DGRAM``) in ``netns``.

    ``netns`` names a namespace under /run/netns; None opens the socket here. setns(2)
    switches only the calling thread, so it is done in a throwaway thread: the
    socket keeps the namespace it was created in, and no pooled thread is left switched.

    Raises:
        OSError: the namespace does not exist, or setns(2) or socket(2) failed.
    """
    if netns is None:
        return socket.socket(socket.AF_NETLINK, kind, NETLINK_ROUTE)
    result: list[socket.socket | BaseException] = []

    def enter_and_open() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(os.path.join(_NETNS_DIR, netns), os.O_RDONLY)
            try:
                if libc.setns(fd, _CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, os.strerror(err), netns)
            finally:
                os.close(fd)
            result.append(socket.socket(socket.AF_NETLINK, kind, NETLINK_ROUTE))
        except BaseException as exc:  # handed to the caller's thread below
            result.append(exc)

    thread = threading.Thread(target=enter_and_open, name=f"netns-{netns}")
    thread.start()
    thread.join()
    outcome = result[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome
