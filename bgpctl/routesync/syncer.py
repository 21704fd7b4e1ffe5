"""RouteSyncer: keeps our routes in the kernel equal to a desired set, in large batches.

Inputs are a full desired set (:meth:`RouteSyncer.replace`) and a stream of changes
(:meth:`RouteSyncer.apply`); both only update dictionaries and mark keys dirty, so they
never wait. One writer task owns every kernel write:

* it waits for a dirty key, then ``coalesce_window`` (2 ms) more, so a burst of changes
  becomes a few large netlink batches instead of one write per change;
* per dirty key it compares the effective desired route (see :mod:`.filters`) with the
  route of ours it believes is installed (:func:`.diff.plan`) and writes only differences:
  add (exclusive create), replace in place, or delete (matching our protocol only);
* each route succeeds or fails on its own; a failed route keeps its last error, is
  retried with exponential backoff and is reported by :meth:`RouteSyncer.status`.

Start-up never flushes: :meth:`RouteSyncer.start` dumps our routes (our protocol, our
tables) and adopts them as installed. Routes of a previous run that are no longer wanted
are deleted when the first full desired set arrives (:meth:`replace`), and only then, so
a controller restart does not black-hole traffic while GoBGP is still resending its
table. Stop leaves routes in place unless ``withdraw_on_shutdown``.

Upstream (Go route_watcher.go): IPv6 only, one RouteReplace per path, keyed by prefix so
it could overwrite another protocol's route, and a GC at every (re)subscription that
removed everything not in the first dump. We batch, never touch foreign routes, and
delete stale routes only as a diff.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable

import structlog

from bgpctl.routesync.diff import plan
from bgpctl.routesync.errors import AcksLost, RouteNotFound, RouteSyncError
from bgpctl.routesync.filters import RouteFilter
from bgpctl.routesync.options import RouteSyncOptions
from bgpctl.routesync.retry import RetrySchedule
from bgpctl.routesync.status import NoopSyncMetrics, SyncMetrics, SyncStatus
from bgpctl.routesync.table import RouteTable
from bgpctl.routesync.types import Change, Op, OpKind, Route, RouteKey
from bgpctl.runtime import clock

log = structlog.get_logger(__name__)

_ERROR_PAUSE = 1.0
"""Seconds the writer pauses after an unexpected error in a round."""


class RouteSyncer:
    """Converges the routes of one protocol in a kernel routing table to a desired set.

    Not thread-safe: call it from the event loop that runs :meth:`start`.
    """

    def __init__(
        self,
        table: RouteTable,
        *,
        options: RouteSyncOptions | None = None,
        metrics: SyncMetrics | None = None,
    ) -> None:
        """Create an engine over ``table``; nothing happens until :meth:`start`."""
        self._table = table
        self._options = options or RouteSyncOptions()
        self._metrics: SyncMetrics = metrics or NoopSyncMetrics()
        self._filter = RouteFilter(self._options.exclude)
        self._tables = self._options.tables
        self._metric_for = self._options.metric_for
        self._desired: dict[RouteKey, Route] = {}
        self._installed: dict[RouteKey, Route] = {}
        self._stale: list[tuple[Route, int]] = []
        self._dirty: dict[RouteKey, None] = {}
        self._retries = RetrySchedule(
            base=self._options.retry_base, cap=self._options.retry_max, on_due=self._retry_due
        )
        self._failures = self._retries.failures
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._synced = False
        self._resync_requested = False
        self._task: asyncio.Task[None] | None = None

    # -- inputs ---------------------------------------------------------------------------

    def replace(self, routes: Iterable[Route]) -> None:
        """Declare the full desired set; everything of ours not in it will be deleted.

        The first call after :meth:`start` also ends the adoption phase: stale routes of a
        previous run are deleted from then on.

        Raises:
            ValueError: a route names a table the engine does not own.
        """
        new: dict[RouteKey, Route] = {}
        tables = self._tables
        for route in routes:
            if route.table not in tables:
                raise ValueError(f"table {route.table} is not managed (route {route.dst})")
            new[route.key] = route
        old, self._desired = self._desired, new
        installed, dirty = self._installed, self._dirty
        for key, route in new.items():
            if installed.get(key) != route or old.get(key) != route:
                dirty[key] = None
        for key in old.keys() - new.keys():
            dirty[key] = None
        for key in installed.keys() - new.keys():
            dirty[key] = None
        self._synced = True
        self._kick()

    def apply(self, changes: Iterable[Change]) -> None:
        """Apply incremental changes; later changes to the same key win.

        A :class:`Route` installs or replaces the route for its key; a :class:`Withdraw`
        removes it.

        Raises:
            ValueError: a change names a table the engine does not own.
        """
        desired, dirty, tables = self._desired, self._dirty, self._tables
        for change in changes:
            key = change.key
            if key[0] not in tables:
                raise ValueError(f"table {key[0]} is not managed (route {key[1]})")
            if isinstance(change, Route):
                desired[key] = change
            else:
                desired.pop(key, None)
            dirty[key] = None
        self._kick()

    def set_excluded(self, networks: Iterable[str]) -> None:
        """Replace the dynamic exclusions (the node's own originated prefixes).

        Routes inside them are removed from the kernel; routes no longer inside one are
        installed again. Configured exclusions (``options.exclude``) always apply.
        """
        self._filter.set_dynamic(networks)
        self._mark_all_dirty()

    def request_resync(self) -> None:
        """Ask the writer to dump the kernel again and re-diff everything."""
        self._resync_requested = True
        self._kick()

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Read local addresses and our routes from the kernel, then start the writer.

        Inputs given before ``start`` (even a full set: the dump of a large table takes
        seconds, GoBGP may answer first) are kept and written once the kernel's routes
        are adopted.

        Raises:
            RouteSyncError: the initial dump failed (nothing was written).
            RuntimeError: already started.
        """
        if self._task is not None:
            raise RuntimeError("RouteSyncer already started")
        await self._load_kernel_state()
        # Inputs that arrived before start are written now; if a full set was among
        # them, the adopted routes are diffed against it too.
        keys = itertools.chain(self._desired, self._installed) if self._synced else self._desired
        for key in keys:
            self._dirty[key] = None
        self._task = asyncio.create_task(self._run(), name="routesync-writer")
        self._kick()

    async def stop(self) -> None:
        """Stop the writer. Routes stay in the kernel unless ``withdraw_on_shutdown``.

        With ``withdraw_on_shutdown``, waits until every route of ours is deleted (bound
        it with ``asyncio.timeout`` if needed). Cancelling ``stop`` cancels the writer.
        """
        task, self._task = self._task, None
        if task is None:
            return
        try:
            if self._options.withdraw_on_shutdown and not task.done():
                self._desired.clear()
                self._synced = True
                self._mark_all_dirty()
                await self._wait_idle_on(task)
        finally:
            self._retries.cancel()
            task.cancel()
            await asyncio.wait({task})

    async def __aenter__(self) -> RouteSyncer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def wait_idle(self) -> None:
        """Wait until no key is waiting for the writer (failed keys wait for their retry).

        Raises:
            RuntimeError: the engine is not running.
        """
        if self._task is None:
            raise RuntimeError("RouteSyncer is not running")
        await self._wait_idle_on(self._task)

    def status(self) -> SyncStatus:
        """Return a snapshot of counts and per-route failures."""
        return SyncStatus(
            desired=len(self._desired),
            installed=len(self._installed),
            failed=len(self._failures),
            pending=len(self._dirty),
            synced=self._synced,
            failures=dict(self._failures),
        )

    @property
    def installed(self) -> dict[RouteKey, Route]:
        """A copy of the routes of ours the engine believes are in the kernel."""
        return dict(self._installed)

    # -- writer ---------------------------------------------------------------------------

    def _kick(self) -> None:
        if self._dirty or self._resync_requested:
            self._idle.clear()
            self._wakeup.set()

    def _mark_all_dirty(self) -> None:
        for key in itertools.chain(self._desired, self._installed):
            self._dirty[key] = None
        self._kick()

    async def _wait_idle_on(self, task: asyncio.Task[None]) -> None:
        idle = asyncio.ensure_future(self._idle.wait())
        try:
            await asyncio.wait({idle, task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            idle.cancel()
            await asyncio.gather(idle, return_exceptions=True)  # reap our own helper
        if not self._idle.is_set():
            raise RuntimeError("RouteSyncer writer stopped")

    async def _load_kernel_state(self) -> None:
        options = self._options
        self._filter.set_local_addresses(await self._table.local_addresses())
        dumped = await self._table.dump(tables=options.tables, protocol=options.protocol)
        installed: dict[RouteKey, Route] = {}
        stale: list[tuple[Route, int]] = []
        for route, metric in dumped:
            if metric != self._metric_for(route.family) or route.key in installed:
                stale.append((route, metric))  # ours, but not at the key we write
            else:
                installed[route.key] = route
        self._installed, self._stale = installed, stale
        log.info("kernel routes adopted", installed=len(installed), stale=len(stale))
        self._metrics.routes_changed(installed=len(installed), failed=0, stale=len(stale))

    async def _run(self) -> None:
        options = self._options
        while True:
            await self._wakeup.wait()
            if options.coalesce_window > 0 and len(self._dirty) < options.max_batch:
                await asyncio.sleep(options.coalesce_window)
            self._wakeup.clear()
            try:
                if self._resync_requested:
                    self._resync_requested = False
                    await self._load_kernel_state()
                    self._mark_all_dirty()
                while self._dirty or (self._synced and self._stale):
                    await self._write_round()
            except Exception:
                log.exception("route sync round failed")
                self._resync_requested = True
                await asyncio.sleep(_ERROR_PAUSE)
                self._wakeup.set()
                continue
            if not self._dirty and not self._resync_requested:
                self._idle.set()

    async def _write_round(self) -> None:
        dirty, desired, installed = self._dirty, self._desired, self._installed
        keys = list(itertools.islice(dirty, self._options.max_batch))
        for key in keys:
            del dirty[key]
        ops: list[Op] = []
        op_keys: list[RouteKey | None] = []
        if self._synced and self._stale:
            for route, metric in self._stale:
                ops.append((OpKind.DELETE, route, metric))
                op_keys.append(None)
            self._stale = []
        effective, metric_for, failures = self._filter.effective, self._metric_for, self._failures
        for key in keys:
            want = desired.get(key)
            if want is not None:
                want = effective(want)
            op = plan(want, installed.get(key), metric_for)
            if op is None:
                if failures:
                    failures.pop(key, None)  # nothing to write any more
                continue
            ops.append(op)
            op_keys.append(key)
        if not ops:
            return
        started = clock.now()
        try:
            errors = await self._table.write(ops)
        except Exception as exc:  # the table is unusable: every op failed, retry later
            log.warning("route write failed", routes=len(ops), error=str(exc))
            error = RouteSyncError(getattr(exc, "errno", 0) or 0, str(exc))
            errors = dict.fromkeys(range(len(ops)), error)
        self._settle(ops, op_keys, errors, clock.now())
        self._metrics.batch_written(
            routes=len(ops), failures=len(errors), seconds=clock.now() - started
        )
        self._metrics.routes_changed(
            installed=len(installed), failed=len(failures), stale=len(self._stale)
        )

    def _settle(
        self,
        ops: list[Op],
        op_keys: list[RouteKey | None],
        errors: dict[int, RouteSyncError],
        now: float,
    ) -> None:
        installed, failures = self._installed, self._failures
        lost, lost_reason = 0, ""
        for index, ((kind, route, _), key) in enumerate(zip(ops, op_keys, strict=True)):
            error = errors.get(index) if errors else None
            if error is not None and kind == OpKind.DELETE and isinstance(error, RouteNotFound):
                error = None  # already gone
            if key is None:  # stale route of a previous run
                if error is not None:
                    log.warning("stale route not deleted", prefix=route.dst, error=str(error))
                continue
            if error is None:
                if kind == OpKind.DELETE:
                    installed.pop(key, None)
                else:
                    installed[key] = route
                if failures:
                    failures.pop(key, None)
                continue
            failure = self._retries.record(key, error, now)
            if isinstance(error, AcksLost):  # outcome unknown: the resync will tell
                lost += 1
                lost_reason = error.message
            elif failure.attempts == 1 or failure.attempts % 10 == 0:
                log.warning(
                    "route write failed",
                    prefix=route.dst,
                    table=route.table,
                    errno=error.errno,
                    error=error.message,
                    attempts=failure.attempts,
                    retry_in=round(failure.retry_at - now, 3),
                )
        if lost:
            log.warning("route acks lost, resyncing", routes=lost, error=lost_reason)
            self._resync_requested = True
            self._wakeup.set()

    def _retry_due(self, keys: list[RouteKey]) -> None:
        for key in keys:
            self._dirty[key] = None
        self._kick()
