"""SharedIndexInformer: reflector → FIFO → indexer, fanned out to ordered handlers.

Mirrors client-go ``tools/cache/shared_informer.go`` (``sharedIndexInformer``,
``sharedProcessor``, ``processorListener``) and ``controller.go``
(``processDeltas``). The rules it keeps:

- A popped delta is applied to the indexer first, then announced: Sync, Replaced,
  Added and Updated become ``on_update(old, new)`` when the key is known and
  ``on_add(new, is_in_initial_list)`` otherwise; Deleted becomes ``on_delete`` with
  the object or its tombstone.
- An update whose old and new resourceVersion are equal is a resync: it goes only to
  handlers whose own resync is due at this tick. Everything else goes to everyone.
- Every handler has its own unbounded buffer and delivery task: in order per handler,
  never blocking the informer or the other handlers.
- A handler added after start first gets ``on_add(obj, True)`` for everything in the
  store, queued before the registration is returned.
- Resync periods: at least 1 s; before start a handler may lower the informer's check
  period; after start it is raised to it; 0 means never (and an informer whose check
  period is 0 never resyncs anyone).

Upstream: a panicking handler crashes the process (or, with crash-on-panic off, the
notification is lost and the listener restarts after 1 s). We log the exception,
skip that notification and pause 1 s before the next, like the latter. Upstream then
never counts that notification as delivered, so a failing initial add keeps the
registration unsynced forever; we count it, because the handler did get its chance.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from bgpctl.runtime import clock
from bgpctl.runtime.backoff import BackoffManager
from bgpctl.runtime.cache.fifo import Delta, DeltaType, FIFOClosedError, RealFIFO
from bgpctl.runtime.cache.interfaces import (
    DeletedFinalStateUnknown,
    Informer,
    KubeObject,
    ResourceEventHandler,
)
from bgpctl.runtime.cache.listwatch import ListerWatcher
from bgpctl.runtime.cache.reflector import DEFAULT_MIN_WATCH_TIMEOUT, Reflector
from bgpctl.runtime.cache.store import IndexedStore, IndexFunc

log = structlog.get_logger("bgpctl.runtime.cache.informer")

MINIMUM_RESYNC_PERIOD = 1.0
"""Handlers cannot ask for resyncs more often than this, seconds."""

HANDLER_ERROR_PAUSE = 1.0
"""Delivery to a handler pauses this long after it raised, seconds."""


@dataclass(frozen=True, slots=True)
class _Add:
    obj: KubeObject
    is_in_initial_list: bool


@dataclass(frozen=True, slots=True)
class _Update:
    old: KubeObject
    new: KubeObject


@dataclass(frozen=True, slots=True)
class _Delete:
    obj: KubeObject | DeletedFinalStateUnknown


_Notification = _Add | _Update | _Delete


def _determine_resync_period(desired: float, check: float) -> float:
    if desired == 0 or check == 0:
        return 0.0
    return max(desired, check)


class _ProcessorListener:
    """One handler's buffer, delivery task, resync schedule and sync tracking."""

    def __init__(
        self,
        handler: ResourceEventHandler,
        *,
        requested_resync_period: float,
        resync_period: float,
        upstream_has_synced: Callable[[], bool],
    ) -> None:
        self.handler = handler
        self.requested_resync_period = requested_resync_period
        self.resync_period = resync_period
        # Unknown until the first resync check: handlers may be added before the loop
        # runs, and the schedule starts when the informer does.
        self._next_resync: float | None = None
        self._upstream_has_synced = upstream_has_synced
        self._buffer: deque[_Notification] = deque()
        self._wakeup = asyncio.Event()
        # Initial-list adds queued but not yet delivered (client-go synctrack).
        self._pending_initial = 0
        self.task: asyncio.Task[None] | None = None

    def add(self, notification: _Notification) -> None:
        if isinstance(notification, _Add) and notification.is_in_initial_list:
            self._pending_initial += 1
        self._buffer.append(notification)
        self._wakeup.set()

    def has_synced(self) -> bool:
        return self._upstream_has_synced() and self._pending_initial == 0

    def should_resync(self, now: float) -> bool:
        if self._next_resync is None:
            self._next_resync = now + self.resync_period
        return self.resync_period != 0 and now >= self._next_resync

    def determine_next_resync(self, now: float) -> None:
        self._next_resync = now + self.resync_period

    async def run(self) -> None:
        while True:
            while not self._buffer:
                self._wakeup.clear()
                await self._wakeup.wait()
            notification = self._buffer.popleft()
            try:
                self._deliver(notification)
            except Exception:
                log.exception("event handler failed", handler=type(self.handler).__name__)
                await asyncio.sleep(HANDLER_ERROR_PAUSE)
            finally:
                if isinstance(notification, _Add) and notification.is_in_initial_list:
                    self._pending_initial -= 1

    def _deliver(self, notification: _Notification) -> None:
        if isinstance(notification, _Add):
            self.handler.on_add(notification.obj, notification.is_in_initial_list)
        elif isinstance(notification, _Update):
            self.handler.on_update(notification.old, notification.new)
        else:
            self.handler.on_delete(notification.obj)


class _Registration:
    """What ``add_event_handler`` returns (implements ``HandlerRegistration``)."""

    def __init__(self, listener: _ProcessorListener) -> None:
        self._listener = listener

    def has_synced(self) -> bool:
        """True once the informer synced and this handler got its initial adds."""
        return self._listener.has_synced()


class SharedIndexInformer:
    """An informer shared by any number of handlers (implements ``Informer``).

    Args:
        lister_watcher: Where the objects come from.
        name: For logs (e.g. the resource type).
        resync_period: Default resync period for handlers and the initial check
            period, seconds; 0 disables resyncs.
        indexers: Named index functions for the indexer.
        min_watch_timeout: Passed to the reflector (watches last [min, 2·min) s).
        backoff: Passed to the reflector (tests pin the jitter).
        transform: Applied to every added or updated object before it is stored and
            handed to handlers (client-go ``SetTransform``); must be idempotent (a
            resync passes stored objects through it again) and never fail.
    """

    def __init__(
        self,
        lister_watcher: ListerWatcher,
        *,
        name: str = "informer",
        resync_period: float = 0.0,
        indexers: Mapping[str, IndexFunc] | None = None,
        min_watch_timeout: float = DEFAULT_MIN_WATCH_TIMEOUT,
        backoff: BackoffManager | None = None,
        transform: Callable[[KubeObject], KubeObject] | None = None,
    ) -> None:
        self._lw = lister_watcher
        self._transform = transform
        self.name = name
        self._indexer = IndexedStore(indexers=indexers)
        self._default_resync = resync_period
        self._resync_check_period = resync_period
        self._min_watch_timeout = min_watch_timeout
        self._backoff = backoff
        self._listeners: list[_ProcessorListener] = []
        self._syncing: list[_ProcessorListener] = []
        self._fifo: RealFIFO | None = None
        self._reflector: Reflector | None = None
        self._task_group: asyncio.TaskGroup | None = None
        self._started = False
        self._stopped = False
        self._log = log.bind(informer=name)

    # -- Informer -------------------------------------------------------------------

    def add_event_handler(
        self, handler: ResourceEventHandler, *, resync_period: float | None = None
    ) -> _Registration:
        """Register a handler; after start it first gets adds for the whole store.

        Args:
            handler: Receives notifications in order on its own task.
            resync_period: Seconds between resync re-deliveries (``None`` = the
                informer's default, 0 = never).

        Raises:
            RuntimeError: the informer has stopped.
        """
        if self._stopped:
            raise RuntimeError(f"informer {self.name} has stopped; handler not added")
        period = self._default_resync if resync_period is None else resync_period
        if period > 0:
            period = max(period, MINIMUM_RESYNC_PERIOD)
            if period < self._resync_check_period:
                if self._started:
                    # The reflector's tick is fixed once running: round up to it.
                    self._log.warning(
                        "resync period below the informer's check period",
                        requested=period,
                        check_period=self._resync_check_period,
                    )
                    period = self._resync_check_period
                else:
                    self._resync_check_period = period
                    for other in self._listeners:
                        other.resync_period = _determine_resync_period(
                            other.requested_resync_period, period
                        )
        listener = _ProcessorListener(
            handler,
            requested_resync_period=period,
            resync_period=_determine_resync_period(period, self._resync_check_period),
            upstream_has_synced=self.has_synced,
        )
        self._listeners.append(listener)
        if self._started and self._task_group is not None:
            # Queue the synthetic adds before returning the registration, so its
            # has_synced can never be true before they are delivered.
            for obj in self._indexer.list():
                listener.add(_Add(obj, True))
            listener.determine_next_resync(self._now())
            listener.task = self._task_group.create_task(listener.run())
        return _Registration(listener)

    def remove_event_handler(self, registration: _Registration) -> None:
        """Stop delivering to a handler; undelivered notifications are dropped."""
        listener = registration._listener
        if listener in self._listeners:
            self._listeners.remove(listener)
            if listener in self._syncing:
                self._syncing.remove(listener)
            if listener.task is not None:
                listener.task.cancel()

    def has_synced(self) -> bool:
        """True once the first LIST has been fully applied to the indexer."""
        return self._fifo is not None and self._fifo.has_synced()

    # -- accessors ----------------------------------------------------------------

    @property
    def indexer(self) -> IndexedStore:
        """The informer's store; treat its objects as read-only."""
        return self._indexer

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        """Add index functions (existing objects are indexed at once)."""
        self._indexer.add_indexers(indexers)

    @property
    def last_sync_resource_version(self) -> str:
        """The reflector's last synced RV ("" before the first LIST)."""
        return self._reflector.last_sync_resource_version if self._reflector else ""

    @property
    def is_stopped(self) -> bool:
        """Whether ``run`` has returned."""
        return self._stopped

    # -- running --------------------------------------------------------------------

    async def run(self) -> None:
        """Run the reflector, the delta loop and the handlers until cancelled.

        Raises:
            RuntimeError: called twice.
        """
        if self._started:
            raise RuntimeError(f"informer {self.name} already started")
        fifo = RealFIFO(known_objects=self._indexer)
        self._fifo = fifo
        self._reflector = Reflector(
            self._lw,
            fifo,
            name=self.name,
            resync_period=self._resync_check_period,
            should_resync=self._should_resync,
            min_watch_timeout=self._min_watch_timeout,
            backoff=self._backoff,
        )
        try:
            async with asyncio.TaskGroup() as tg:
                self._task_group = tg
                self._started = True
                now = self._now()
                for listener in self._listeners:
                    listener.determine_next_resync(now)
                    listener.task = tg.create_task(listener.run())
                tg.create_task(self._reflector.run(), name=f"{self.name}-reflector")
                tg.create_task(self._process_loop(fifo), name=f"{self.name}-process")
        finally:
            self._stopped = True
            self._task_group = None
            fifo.close()

    async def _process_loop(self, fifo: RealFIFO) -> None:
        while True:
            try:
                await fifo.pop(self._handle_delta)
            except FIFOClosedError:
                return
            except Exception:
                self._log.exception("processing delta failed")

    def _handle_delta(self, delta: Delta, is_in_initial_list: bool) -> None:
        obj = delta.object
        if delta.type is DeltaType.DELETED:
            self._indexer.delete(obj)
            self._distribute(_Delete(obj), sync=False)
            return
        assert not isinstance(obj, DeletedFinalStateUnknown)  # only deletes carry them
        if self._transform is not None:
            obj = self._transform(obj)
        old = self._indexer.get(obj)
        if old is not None:
            self._indexer.update(obj)
            # Same RV on both sides: a resync or an unchanged relisted object.
            sync = _resource_version(old) == _resource_version(obj)
            self._distribute(_Update(old, obj), sync=sync)
        else:
            self._indexer.add(obj)
            self._distribute(_Add(obj, is_in_initial_list), sync=False)

    def _distribute(self, notification: _Notification, *, sync: bool) -> None:
        for listener in self._syncing if sync else self._listeners:
            listener.add(notification)

    def _should_resync(self) -> bool:
        now = self._now()
        self._syncing = [lis for lis in self._listeners if lis.should_resync(now)]
        for listener in self._syncing:
            listener.determine_next_resync(now)
        return bool(self._syncing)

    @staticmethod
    def _now() -> float:
        return clock.now()


def _resource_version(obj: KubeObject) -> Any:
    return obj.get("metadata", {}).get("resourceVersion")


async def wait_for_cache_sync(*has_synced: Callable[[], bool], poll_interval: float = 0.1) -> None:
    """Wait until every ``has_synced`` is true (client-go ``WaitForCacheSync``).

    Bound it with ``asyncio.timeout``; cancellation propagates.
    """
    # Polling, as upstream does: the checks are arbitrary callables with no event.
    while not all(check() for check in has_synced):  # noqa: ASYNC110
        await asyncio.sleep(poll_interval)


if TYPE_CHECKING:

    def _conforms(informer: SharedIndexInformer) -> Informer:
        return informer  # mypy proves SharedIndexInformer implements the Informer seam
