"""The reflector: LIST, then WATCH from the list's resourceVersion, into a store.

Mirrors client-go ``tools/cache/reflector.go`` (``ListAndWatch``, ``watch``,
``handleAnyWatch``, ``relistResourceVersion``). The rules it keeps:

- The first LIST asks for RV "0" (any cached state); later relists ask for the last
  synced RV; an Expired/Gone or "too large" answer marks the RV unavailable and the
  LIST is retried at once with "" (a quorum read from etcd).
- The WATCH starts at the last synced RV with bookmarks on and ``timeoutSeconds``
  drawn from [min, 2·min) (default [300, 600)) so that watches of many clients do not
  all reconnect together.
- After every event the last synced RV becomes the event's RV, except that a watch
  started from "" or "0" does not advance until its first non-ADDED event, because
  the synthetic initial ADDEDs arrive out of RV order.
- How a watch ends decides what follows: a normal end (server timeout, stream
  closed, connection lost) re-watches at once; connection refused or 429 waits one
  backoff step and re-watches; 410 Expired, a "very short watch" (under 1 s, no
  events) and any other error return to the outer loop, which waits one backoff step
  and relists.
- A 500 from the watch is retried in place (no relist) only within
  ``max_internal_error_retry_duration`` of the first one (default 0: never); as
  client-go's ``retryWithDeadline`` the window starts over when the previous 500 is a
  minute old, and after it has closed.
- Backoff (:data:`DEFAULT_BACKOFF`): 0.8 s, ×2, capped at 30 s, jitter 1.0 (up to
  double), reset when no backoff was needed for 2 minutes.

Upstream: the reflector also supports watch-list streaming, pagination and a
pluggable watch error handler; we keep only the classic list+watch (the seam stays:
``ListerWatcher``). Upstream treats a broken stream as a closed channel; we see it as
``ApiConnectionError`` and give it the same "normal end" treatment.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Protocol

import structlog

from bgpctl.runtime import clock
from bgpctl.runtime.backoff import Backoff, BackoffManager, RetryWithDeadline
from bgpctl.runtime.cache.interfaces import DeletedFinalStateUnknown, KubeObject
from bgpctl.runtime.cache.listwatch import ListerWatcher, WatchEvent, WatchEventType
from bgpctl.runtime.cache.store import ResourceVersionUpdater
from bgpctl.runtime.client.errors import (
    ApiConnectionError,
    ConnectionRefused,
    from_status,
    is_expired,
    is_internal_error,
    is_too_large_resource_version,
    is_too_many_requests,
)

log = structlog.get_logger("bgpctl.runtime.cache.reflector")

DEFAULT_MIN_WATCH_TIMEOUT = 300.0
"""Watches last between this and twice this, seconds (server-side ``timeoutSeconds``)."""

VERY_SHORT_WATCH = 1.0
"""A watch that ends within this many seconds with no event counts as a failure."""

DEFAULT_BACKOFF = Backoff(duration=0.8, factor=2.0, jitter=1.0, cap=30.0)
"""Relists and watch retries (client-go ``NewReflectorWithOptions``'s backoff manager)."""
DEFAULT_BACKOFF_RESET = 120.0
"""Quiet seconds after which the backoff starts again from its first delay."""
INTERNAL_ERROR_RESET = 60.0
"""A 500 this long after the previous one opens a new retry window (upstream's minute)."""


def _reraise_if_cancelling() -> None:
    """Restore a cancellation that a ListerWatcher turned into an ordinary exception.

    Our code never swallows ``CancelledError``, but a third-party ListerWatcher might
    (e.g. a failing ``aclose()`` in its cleanup); without this the reflector would
    treat the stop request as a watch error and run on forever.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class ReflectorStore(Protocol):
    """Where a reflector writes: usually the informer's FIFO."""

    def add(self, obj: KubeObject) -> None:
        """An ADDED event."""

    def update(self, obj: KubeObject) -> None:
        """A MODIFIED event."""

    def delete(self, obj: KubeObject | DeletedFinalStateUnknown) -> None:
        """A DELETED event."""

    def replace(self, items: Iterable[KubeObject], resource_version: str) -> None:
        """The result of a LIST."""

    def resync(self) -> None:
        """A periodic resync tick."""


class VeryShortWatchError(Exception):
    """The watch closed within a second without delivering anything."""


class Reflector:
    """Keeps a store in step with one collection on the API server.

    Args:
        lister_watcher: Source of LIST and WATCH.
        store: Usually the informer's FIFO.
        name: For logs (e.g. the resource type).
        resync_period: Seconds between ``store.resync()`` calls; 0 disables them.
        should_resync: Asked at every resync tick; ``None`` means always.
        min_watch_timeout: Watches last a random time in [min, 2·min) seconds.
        backoff: Backoff manager shared by relists and watch retries.
        max_internal_error_retry_duration: How long 500s from the watch are retried
            in place before falling back to a relist; 0 (upstream's default) = never.
        rng: Source of uniform [0, 1) numbers for the watch timeout.
    """

    def __init__(
        self,
        lister_watcher: ListerWatcher,
        store: ReflectorStore,
        *,
        name: str = "reflector",
        resync_period: float = 0.0,
        should_resync: Callable[[], bool] | None = None,
        min_watch_timeout: float = DEFAULT_MIN_WATCH_TIMEOUT,
        backoff: BackoffManager | None = None,
        max_internal_error_retry_duration: float = 0.0,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._lw = lister_watcher
        self._store = store
        # Checked once: a runtime Protocol isinstance costs tens of µs per event.
        self._rv_updater = (
            store.update_resource_version if isinstance(store, ResourceVersionUpdater) else None
        )
        self.name = name
        self.resync_period = resync_period
        self._should_resync = should_resync
        self._min_watch_timeout = min_watch_timeout
        self._backoff = backoff or BackoffManager(
            DEFAULT_BACKOFF, reset_after=DEFAULT_BACKOFF_RESET
        )
        self._max_internal_error_retry = max_internal_error_retry_duration
        self._rng = rng
        self._last_sync_rv = ""
        self._rv_unavailable = False
        self._events = 0  # events of the current watch, bookmarks included
        self._log = log.bind(reflector=name)

    @property
    def last_sync_resource_version(self) -> str:
        """The RV of the last LIST or event applied to the store ("" before any)."""
        return self._last_sync_rv

    async def run(self) -> None:
        """List and watch until cancelled, backing off after every return.

        Never returns normally; cancellation propagates (the open watch is closed).
        """
        while True:
            try:
                await self.list_and_watch()
            except Exception as exc:
                self._log.warning(
                    "list and watch failed", error=str(exc), exc_type=type(exc).__name__
                )
            # Upstream's BackoffUntil (sliding): every return, even a clean one after
            # a 410, waits one backoff step before relisting.
            await self._backoff.wait()

    async def list_and_watch(self) -> None:
        """One LIST, then watches until one ends in a way that needs a relist.

        Raises:
            ApiError: the LIST failed (after the "" retry for an unavailable RV).
        """
        await self._list()
        resync = asyncio.create_task(self._resync_loop(), name=f"{self.name}-resync")
        try:
            await self._watch_loop()
        finally:
            # The resync task belongs to this list+watch round: end it with the round.
            resync.cancel()
            await asyncio.wait([resync])

    # -- list ---------------------------------------------------------------------

    def _relist_resource_version(self) -> str:
        if self._rv_unavailable:
            # The RV we hold is gone (compacted) or unknown: only a quorum read works.
            return ""
        if not self._last_sync_rv:
            # First list: "0" lets the watch cache answer without touching etcd.
            return "0"
        return self._last_sync_rv

    async def _list(self) -> None:
        rv = self._relist_resource_version()
        try:
            result = await self._lw.list(resource_version=rv)
        except Exception as exc:
            if not (is_expired(exc) or is_too_large_resource_version(exc)):
                raise
            self._log.info("resource version unavailable, listing from etcd", resource_version=rv)
            self._rv_unavailable = True
            result = await self._lw.list(resource_version="")
        self._rv_unavailable = False
        self._store.replace(result.items, result.resource_version)
        self._set_last_sync_rv(result.resource_version)
        self._log.debug("listed", resource_version=result.resource_version, items=len(result.items))

    # -- watch --------------------------------------------------------------------

    async def _watch_loop(self) -> None:
        # One retry window per list+watch round, as upstream's watch().
        internal_errors = RetryWithDeadline(
            self._max_internal_error_retry, INTERNAL_ERROR_RESET, is_internal_error
        )
        while True:
            try:
                await self._watch_once()
            except Exception as exc:
                _reraise_if_cancelling()
                internal_errors.after(exc)
                if isinstance(exc, ConnectionRefused) or is_too_many_requests(exc):
                    # The server is restarting or shedding load: our RV is still good.
                    self._log.info("watch refused, retrying", error=str(exc))
                    await self._backoff.wait()
                    continue
                if is_internal_error(exc) and internal_errors.should_retry():
                    self._log.info("watch internal error, retrying", error=str(exc))
                    continue
                if is_expired(exc):
                    # No "RV unavailable" mark: a LIST at this RV means "at least as
                    # fresh as", which the watch cache may still serve.
                    self._log.info("watch expired, relisting", error=str(exc))
                else:
                    self._log.warning(
                        "watch failed, relisting", error=str(exc), exc_type=type(exc).__name__
                    )
                return

    async def _watch_once(self) -> None:
        timeout = int(self._min_watch_timeout * (1.0 + self._rng()))
        start_rv = self._last_sync_rv
        stream = self._lw.watch(
            resource_version=start_rv, timeout_seconds=max(timeout, 1), allow_watch_bookmarks=True
        )
        start = clock.now()
        self._events = 0
        try:
            await self._handle_watch(stream, initial_adds_unordered=start_rv in ("", "0"))
        except ApiConnectionError as exc:
            if isinstance(exc, ConnectionRefused):
                raise
            # A broken stream is how a restarting server or a dropped connection
            # looks; upstream sees a closed channel. Treat it as a normal end.
            self._log.info("watch stream broken", error=str(exc))
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        count = self._events
        if count == 0 and clock.now() - start < VERY_SHORT_WATCH:
            raise VeryShortWatchError(
                "watch lasted less than a second and delivered nothing: unexpected close"
            )
        self._log.debug("watch closed", events=count, resource_version=self._last_sync_rv)

    async def _handle_watch(
        self, stream: AsyncIterator[WatchEvent], *, initial_adds_unordered: bool
    ) -> None:
        # See the module docstring: out-of-order synthetic ADDEDs must not move the RV.
        hold_rv = initial_adds_unordered
        async for event in stream:
            if event.type is WatchEventType.ERROR:
                raise from_status(event.object)
            obj = event.object
            meta = obj.get("metadata") if isinstance(obj, dict) else None
            if not isinstance(meta, dict):
                # Per-event problems are logged and skipped; only stream failures end it.
                self._log.error("watch event without metadata", event_type=event.type.value)
                continue
            rv = str(meta.get("resourceVersion") or "")
            try:
                if event.type is WatchEventType.ADDED:
                    self._store.add(obj)
                elif event.type is WatchEventType.MODIFIED:
                    self._store.update(obj)
                elif event.type is WatchEventType.DELETED:
                    self._store.delete(obj)
            except Exception as exc:
                self._log.error(
                    "unable to apply watch event", event_type=event.type.value, error=str(exc)
                )
            if event.type is not WatchEventType.ADDED:
                hold_rv = False
            if rv and not hold_rv:
                self._set_last_sync_rv(rv)
                if self._rv_updater is not None:
                    self._rv_updater(rv)
            self._events += 1

    def _set_last_sync_rv(self, rv: str) -> None:
        self._last_sync_rv = rv

    # -- resync -------------------------------------------------------------------

    async def _resync_loop(self) -> None:
        if self.resync_period <= 0:
            return
        while True:
            await asyncio.sleep(self.resync_period)
            if self._should_resync is None or self._should_resync():
                try:
                    self._store.resync()
                except Exception as exc:
                    self._log.error("resync failed", error=str(exc))
