"""Self-healing WatchEvent streams: peer events and best-path changes.

Each stream is an async generator that resubscribes by itself after any failure
(gobgpd restarted, channel re-dialled) once the ``Connection`` is back, with jittered
backoff, and yields a ``Resync`` marker at the start of every subscription. Consumers
therefore need one rule: on ``Resync``, treat everything known from this stream as
stale until the replay that follows is complete.

Subscriptions are acknowledged by GoBGP's END_OF_INIT peer event, so the best-path
stream also subscribes to peer events (and drops them): without that, a subscription
to an idle table would give no sign of life at all. GoBGP queues the peer replay and
the initial table dump in one server-side step, so nothing can slip in between.

GoBGP sends the initial dump only if BGP is running when the subscription is made
(``init`` on an unstarted server sends nothing). The stream therefore asks ``GetBgp``
first and, if BGP is not running, yields an empty initial event itself.

``watch_best_path_messages`` is the same best-path stream without the conversion to
``Path`` values: it yields the raw ``apipb.Path`` messages of each table event, for
consumers on a hot path (the FIB sync decodes only what it needs).

Close a stream with ``aclose()`` (or ``contextlib.aclosing``) when done with it early;
that cancels the underlying call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Sequence
from contextlib import aclosing
from dataclasses import dataclass

from bgpctl.gobgp._proto import path_pb2, service_pb2
from bgpctl.gobgp.connection import DEFAULT_BACKOFF, Connection
from bgpctl.gobgp.convert import path_from_pb
from bgpctl.gobgp.convert_peer import peer_event_from_pb
from bgpctl.gobgp.errors import ConversionError, GoBGPError, GoBGPUnavailable, map_grpc_errors
from bgpctl.gobgp.types import BestPathEvent, Path, PeerEvent, Resync
from bgpctl.runtime.backoff import Backoff

log = logging.getLogger("bgpctl.gobgp")

_Request = service_pb2.WatchEventRequest
_Response = service_pb2.WatchEventResponse
_END_OF_INIT = _Response.PeerEvent.END_OF_INIT


async def _subscriptions(
    conn: Connection,
    request: _Request,
    *,
    backoff: Backoff,
    prepare: Callable[[], Awaitable[None]] | None = None,
) -> AsyncGenerator[Resync | _Response, None]:
    """Yield ``Resync`` then the responses of each successive subscription, forever.

    ``prepare`` runs before every subscription; if it fails, that attempt counts as a
    failed subscription. Ends only when the connection is closed.
    """
    subscriptions = 0
    delays = backoff.delays()
    while not conn.closed:
        try:
            generation = await conn.wait_connected()
            if prepare is not None:
                await prepare()
            call = conn.stub.WatchEvent(request)
        except GoBGPUnavailable:
            if conn.closed:
                return
            await asyncio.sleep(next(delays))
            continue
        except Exception as exc:  # prepare() failed: retry like a broken stream
            log.warning("gobgp stream prepare failed", extra={"error": repr(exc)})
            await asyncio.sleep(next(delays))
            continue
        first = True
        try:
            while True:
                try:
                    with map_grpc_errors():
                        response = await call.read()
                except GoBGPError as exc:
                    log.info("gobgp stream broke", extra={"error": str(exc)})
                    break
                if not isinstance(response, _Response):  # EOF: server ended the stream
                    break
                if first:  # the replay started: the subscription is live
                    first = False
                    yield Resync(generation=generation, restarts=subscriptions)
                    subscriptions += 1
                    delays = backoff.delays()  # a healthy subscription resets the backoff
                yield response
        finally:
            call.cancel()
        if not conn.closed:
            await asyncio.sleep(next(delays))


async def watch_peers(
    conn: Connection, *, backoff: Backoff | None = None
) -> AsyncGenerator[Resync | PeerEvent, None]:
    """Peer events: after each ``Resync``, INIT per neighbor, END_OF_INIT, then STATE.

    Note that GoBGP's peer events carry no per-family counters.
    """
    request = _Request(peer=_Request.Peer())
    async for item in _subscriptions(conn, request, backoff=backoff or DEFAULT_BACKOFF):
        if isinstance(item, Resync):
            yield item
        elif item.HasField("peer"):
            try:
                event = peer_event_from_pb(item.peer)
            except ConversionError as exc:
                log.warning("gobgp peer event skipped", extra={"error": str(exc)})
                continue
            if event is not None:
                yield event


@dataclass(frozen=True, slots=True)
class RawBestPaths:
    """Best-path changes as GoBGP sent them (the ``table.paths`` of one event).

    With ``initial`` set, ``paths`` is the whole best-path table at subscription time;
    otherwise they are changes (``is_withdraw`` marks removals).
    """

    paths: Sequence[path_pb2.Path]
    initial: bool = False


async def watch_best_path_messages(
    conn: Connection,
    *,
    init: bool = True,
    backoff: Backoff | None = None,
    get_started: Callable[[], Awaitable[bool]],
) -> AsyncGenerator[Resync | RawBestPaths, None]:
    """Best-path changes, undecoded; with ``init``, each ``Resync`` is followed by the table.

    Args:
        conn: The connection to subscribe on.
        init: Ask for (and guarantee) an initial table event after every ``Resync``.
        backoff: Delays between resubscriptions.
        get_started: Returns whether BGP is running (GetBgp); asked before subscribing.
    """
    request = _Request(
        peer=_Request.Peer(),
        table=_Request.Table(
            filters=[_Request.Table.Filter(type=_Request.Table.Filter.BEST, init=init)]
        ),
    )
    dump_expected = False

    async def prepare() -> None:
        nonlocal dump_expected
        dump_expected = init and await get_started()

    awaiting_dump = False
    subscriptions = _subscriptions(
        conn, request, backoff=backoff or DEFAULT_BACKOFF, prepare=prepare
    )
    async with aclosing(subscriptions) as stream:
        async for item in stream:
            if isinstance(item, Resync):
                yield item
                awaiting_dump = dump_expected
                if init and not dump_expected:
                    yield RawBestPaths((), initial=True)
            elif item.HasField("table"):
                yield RawBestPaths(item.table.paths, initial=awaiting_dump)
                awaiting_dump = False


async def watch_best_paths(
    conn: Connection,
    *,
    init: bool = True,
    backoff: Backoff | None = None,
    get_started: Callable[[], Awaitable[bool]],
) -> AsyncGenerator[Resync | BestPathEvent, None]:
    """Best-path changes; with ``init``, each ``Resync`` is followed by the whole table.

    Args:
        conn: The connection to subscribe on.
        init: Ask for (and guarantee) an initial table event after every ``Resync``.
        backoff: Delays between resubscriptions.
        get_started: Returns whether BGP is running (GetBgp); asked before subscribing.
    """
    messages = watch_best_path_messages(conn, init=init, backoff=backoff, get_started=get_started)
    async with aclosing(messages) as stream:
        async for item in stream:
            if isinstance(item, Resync):
                yield item
            else:
                yield BestPathEvent(_decode_paths(item.paths), initial=item.initial)


def _decode_paths(messages: Iterable[path_pb2.Path]) -> tuple[Path, ...]:
    out = []
    for message in messages:
        try:
            out.append(path_from_pb(message))
        except ConversionError as exc:  # a family or NLRI bgpctl does not model
            log.debug("gobgp path skipped", extra={"error": str(exc)})
    return tuple(out)
