"""FibSync: the runnable that programs GoBGP's best paths into the kernel FIB.

Per node, no leader election: each agent programs its own node's kernel from its own
gobgpd. The pipeline is GoBGP's raw best-path stream (``WatchEvent`` BEST with
``init``) -> :class:`~bgpctl.controllers.fibsync.BestPathDecoder` ->
:class:`~bgpctl.routesync.RouteSyncer` over a :class:`NetlinkRouteTable`:

* Every (re)subscription of the stream (first start, gobgpd restart, reconnect) is
  followed by GoBGP's full best table; it becomes :meth:`RouteSyncer.replace`, so the
  kernel is resynchronised as a diff against the fresh table (never a flush: routes
  that are still wanted are not touched). Later table events are changes
  (:meth:`RouteSyncer.apply`). At the first start the engine adopts the kernel's
  routes of our protocol and deletes stale ones only once that full table is in.
* Exclusions: the configured networks (``--fib-exclude``, ``SRV6_NET``) by containment;
  next hops that are the node's own addresses (read by the engine at start); best
  paths that this node originates (the decoder withdraws them). The node's own
  originated prefixes can also be given as dynamic exclusions
  (:meth:`FibSync.set_own_prefixes`).
* On shutdown the routes stay in place (the engine's default), so an agent restart
  does not black-hole traffic.
* A *re*-subscription (gobgpd restarted, or the connection was re-established) does not
  replace the kernel table with GoBGP's fresh, possibly still empty one: the routes
  GoBGP no longer has are kept as **stale** and removed only once every expected
  neighbor is Established and has sent End-of-RIB for all its families, or when
  ``stale_time`` (default 120 s) has passed since the resubscription — whichever comes
  first; a stale route learned again (or withdrawn) meanwhile is no longer stale.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable
from contextlib import aclosing
from dataclasses import dataclass

import structlog

from bgpctl.controllers.fibsync import BestPathDecoder
from bgpctl.gobgp.client import GoBGPClient
from bgpctl.gobgp.errors import GoBGPError
from bgpctl.gobgp.streams import RawBestPaths
from bgpctl.gobgp.types import IPAddress, Resync
from bgpctl.metrics.bgp import FibSyncMetrics
from bgpctl.routesync import DEFAULT_PROTOCOL, MAIN_TABLE, Route, RouteSyncer, RouteSyncOptions
from bgpctl.routesync.netlink import NetlinkRouteTable
from bgpctl.routesync.status import SyncStatus
from bgpctl.routesync.types import RouteKey, Withdraw

log = structlog.get_logger(__name__)

DEFAULT_STALE_TIME = 120.0
"""Seconds stale routes are kept at most (BGP graceful restart's usual restart time)."""
STALE_CHECK_INTERVAL = 1.0
"""Seconds between checks whether every expected neighbor is back with End-of-RIB."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FibOptions:
    """What FibSync writes, and where.

    Attributes:
        protocol: Route protocol number of our routes (default 196).
        table: Kernel routing table id (default 254, main).
        exclude: Networks never installed (a prefix equal to or inside one is skipped).
        netns: Program the routes of this named network namespace (under /run/netns)
            instead of the agent's own; for labs and tests.
        stale_time: Seconds routes are kept after a resubscription while GoBGP relearns.
    """

    protocol: int = DEFAULT_PROTOCOL
    table: int = MAIN_TABLE
    exclude: tuple[str, ...] = ()
    netns: str | None = None
    stale_time: float = DEFAULT_STALE_TIME

    def route_sync_options(self) -> RouteSyncOptions:
        """The engine's options (validates protocol and exclusions: ``ValueError``)."""
        return RouteSyncOptions(protocol=self.protocol, table=self.table, exclude=self.exclude)


class FibSync:
    """Runnable: GoBGP best paths -> kernel routes, until cancelled (see module docstring).

    Args:
        gobgp: The connected (or connecting) GoBGP client; the stream resubscribes by itself.
        options: See :class:`FibOptions`.
    """

    def __init__(
        self,
        gobgp: GoBGPClient,
        options: FibOptions | None = None,
        *,
        expected_peers: Callable[[], Collection[IPAddress]] = tuple,
    ) -> None:
        self._gobgp = gobgp
        self._expected_peers = expected_peers
        self._stale: dict[RouteKey, Route] = {}
        self._stale_until = 0.0
        self._options = options or FibOptions()
        self._sync_options = self._options.route_sync_options()
        self._engine: RouteSyncer | None = None
        self._own_prefixes: tuple[str, ...] = ()
        self.name = "fib-sync"

    @property
    def engine(self) -> RouteSyncer | None:
        """The running engine (None before start and after stop)."""
        return self._engine

    def status(self) -> SyncStatus | None:
        """The engine's status, or None when not running."""
        return self._engine.status() if self._engine is not None else None

    def set_own_prefixes(self, networks: Iterable[str]) -> None:
        """Replace the node's own originated prefixes, never installed (dynamic exclusions)."""
        self._own_prefixes = tuple(networks)
        if self._engine is not None:
            self._engine.set_excluded(self._own_prefixes)

    async def start(self) -> None:
        """Open the table, start the engine and feed it from GoBGP until cancelled.

        Raises:
            RouteSyncError: the namespace or the initial kernel dump failed.
        """
        options = self._options
        table = NetlinkRouteTable(protocol=options.protocol, netns=options.netns)
        async with table:
            engine = RouteSyncer(table, options=self._sync_options, metrics=FibSyncMetrics())
            if self._own_prefixes:
                engine.set_excluded(self._own_prefixes)
            await engine.start()
            self._engine = engine
            log.info(
                "fib sync started",
                protocol=options.protocol,
                table=options.table,
                exclude=list(options.exclude),
                netns=options.netns,
            )
            try:
                await self._feed(engine)
            finally:
                self._engine = None
                await engine.stop()  # routes stay in place

    @property
    def stale(self) -> dict[RouteKey, Route]:
        """Routes kept from before the last resubscription, not (yet) learned again."""
        return dict(self._stale)

    async def _feed(self, engine: RouteSyncer) -> None:
        decoder = BestPathDecoder(table=self._options.table)
        stream = self._gobgp.watch_best_path_messages(init=True)
        resubscribed = False
        async with asyncio.TaskGroup() as tg, aclosing(stream) as events:
            tg.create_task(self._expire_stale(engine))
            async for item in events:
                if isinstance(item, Resync):
                    log.info(
                        "best-path stream subscribed: resync with the full table follows",
                        generation=item.generation,
                        restarts=item.restarts,
                    )
                    resubscribed = item.restarts > 0
                    continue
                self.handle(engine, decoder, item, resubscribed=resubscribed)

    def handle(
        self,
        engine: RouteSyncer,
        decoder: BestPathDecoder,
        event: RawBestPaths,
        *,
        resubscribed: bool = False,
    ) -> None:
        """Apply one table event: the full table replaces, anything else is a change set.

        After a resubscription, routes missing from the full table are kept as stale.
        """
        changes = decoder.changes(event.paths)
        if event.initial:
            routes = [change for change in changes if isinstance(change, Route)]
            log.info("full best-path table received", routes=len(routes))
            self._replace(engine, routes, keep_stale=resubscribed)
        else:
            for change in changes:
                self._stale.pop(change.key, None)
            engine.apply(changes)

    def _replace(self, engine: RouteSyncer, routes: list[Route], *, keep_stale: bool) -> None:
        if not keep_stale:
            engine.replace(routes)
            return
        fresh = {route.key for route in routes}
        kept = {**self._stale, **engine.installed}
        self._stale = {key: route for key, route in kept.items() if key not in fresh}
        self._stale_until = asyncio.get_running_loop().time() + self._options.stale_time
        log.info(
            "resubscribed: keeping routes GoBGP has not relearned yet as stale",
            stale=len(self._stale),
            stale_time=self._options.stale_time,
        )
        engine.replace([*routes, *self._stale.values()])

    async def _expire_stale(self, engine: RouteSyncer) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(STALE_CHECK_INTERVAL)
            if not self._stale:
                continue
            expired = loop.time() >= self._stale_until
            if not expired and not await self._all_back():
                continue
            stale, self._stale = self._stale, {}
            log.info(
                "removing stale routes",
                routes=len(stale),
                reason="stale time expired" if expired else "every neighbor back with End-of-RIB",
            )
            engine.apply([Withdraw(route.dst, route.table) for route in stale.values()])

    async def _all_back(self) -> bool:
        expected = set(self._expected_peers())
        if not expected:
            return False  # nothing to wait for is not the same as everything back
        try:
            peers = {p.state.neighbor_address: p.state for p in await self._gobgp.list_peers()}
        except GoBGPError:
            return False
        return all(
            (state := peers.get(address)) is not None and state.established and state.end_of_rib
            for address in expected
        )
