"""Sources: where a controller's events come from.

Mirrors controller-runtime pkg/source (and pkg/internal/source/event_handler.go):

- ``Kind`` registers with a shared informer and adapts its callbacks into events, runs
  them through the predicates (all must pass) and hands them to the event handler. A
  tombstone (``DeletedFinalStateUnknown``) becomes a ``DeleteEvent`` with
  ``delete_state_unknown=True`` carrying the last known object; a tombstone without one
  is logged and dropped, as upstream drops objects of the wrong type.
- ``Channel`` turns ``GenericEvent``s from asyncio code into requests; ``trigger()``
  sends an object-less event, meant for "re-enqueue everything" (for example when the
  GoBGP connection is lost), paired with a map-func handler that lists every key.

Upstream's Channel reads a Go channel in a goroutine and fans out to buffered channels
per consumer. Ours calls the predicates and handler directly inside ``send``, because
handlers are synchronous and the loop is single-threaded, so no task (and no task
owner) is needed. Events sent before any consumer started are buffered and flushed by
the first ``start``, as a Go channel would hold them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Final, Protocol

import structlog

from bgpctl.runtime.cache.interfaces import (
    DeletedFinalStateUnknown,
    HandlerRegistration,
    Informer,
    KubeObject,
)
from bgpctl.runtime.event import CreateEvent, DeleteEvent, GenericEvent, UpdateEvent
from bgpctl.runtime.handler import EventHandler, RequestQueue
from bgpctl.runtime.predicate import Predicate

_log = structlog.get_logger(__name__)

SYNC_POLL_PERIOD: Final = 0.1
"""Seconds between ``has_synced`` checks while waiting for a cache (upstream: 100 ms)."""


class Source(Protocol):
    """Feeds requests into a controller's queue."""

    def start(self, queue: RequestQueue) -> None:
        """Begin delivering to ``queue``. Returns at once; must not start unowned tasks.

        Raises:
            RuntimeError: The source cannot be started (again).
        """
        ...

    async def wait_for_sync(self) -> None:
        """Return once the source has delivered its initial state.

        The controller bounds this with its ``cache_sync_timeout``; cancellation propagates.
        """
        ...


class _InformerAdapter:
    """ResourceEventHandler -> events -> predicates -> handler -> queue."""

    def __init__(
        self, handler: EventHandler, predicates: tuple[Predicate, ...], queue: RequestQueue
    ) -> None:
        self._handler = handler
        self._predicates = predicates
        self._queue = queue

    def on_add(self, obj: KubeObject, is_in_initial_list: bool) -> None:
        event = CreateEvent(obj, is_in_initial_list)
        if all(p.create(event) for p in self._predicates):
            self._handler.create(event, self._queue)

    def on_update(self, old: KubeObject, new: KubeObject) -> None:
        event = UpdateEvent(old, new)
        if all(p.update(event) for p in self._predicates):
            self._handler.update(event, self._queue)

    def on_delete(self, obj: KubeObject | DeletedFinalStateUnknown) -> None:
        if isinstance(obj, DeletedFinalStateUnknown):
            if obj.obj is None:
                _log.error("tombstone without last state dropped", key=obj.key)
                return
            event = DeleteEvent(obj.obj, delete_state_unknown=True)
        else:
            event = DeleteEvent(obj)
        if all(p.delete(event) for p in self._predicates):
            self._handler.delete(event, self._queue)


class Kind:
    """Events from a shared informer, filtered by predicates, mapped by a handler.

    Args:
        informer: The shared informer of one kind.
        handler: Maps events to requests.
        *predicates: All must pass for an event to reach the handler.
        resync_period: Seconds between resync updates for this handler; 0 disables.
    """

    def __init__(
        self,
        informer: Informer,
        handler: EventHandler,
        *predicates: Predicate,
        resync_period: float = 0.0,
    ) -> None:
        self.informer = informer
        self.handler = handler
        self.predicates = predicates
        self.resync_period = resync_period
        self._registration: HandlerRegistration | None = None

    def start(self, queue: RequestQueue) -> None:
        """Register with the informer; late registration replays the store as adds.

        Raises:
            RuntimeError: Already started.
        """
        if self._registration is not None:
            raise RuntimeError("kind source was already started")
        adapter = _InformerAdapter(self.handler, self.predicates, queue)
        self._registration = self.informer.add_event_handler(
            adapter, resync_period=self.resync_period
        )

    async def wait_for_sync(self) -> None:
        """Poll until this handler has received the informer's initial list.

        Raises:
            RuntimeError: Not started.
        """
        registration = self._registration
        if registration is None:
            raise RuntimeError("kind source must be started before waiting for sync")
        # The Informer seam offers only a has_synced() predicate, so poll as upstream's
        # WaitForCacheSync does.
        while not registration.has_synced():  # noqa: ASYNC110
            await asyncio.sleep(SYNC_POLL_PERIOD)


class Channel:
    """Generic events from asyncio code, filtered by predicates, mapped by a handler.

    Several controllers may start the same channel; each event goes to all of them.

    Args:
        handler: Maps events to requests.
        *predicates: All must pass (their ``generic``) for an event to reach the handler.
    """

    def __init__(self, handler: EventHandler, *predicates: Predicate) -> None:
        self.handler = handler
        self.predicates = predicates
        self._queues: list[RequestQueue] = []
        self._pending: deque[GenericEvent] = deque()

    def start(self, queue: RequestQueue) -> None:
        """Deliver to ``queue`` from now on; the first start flushes buffered events."""
        self._queues.append(queue)
        while self._pending:
            self._deliver(self._pending.popleft())

    async def wait_for_sync(self) -> None:
        """A channel has no initial state: returns at once."""

    def send(self, event: GenericEvent) -> None:
        """Deliver ``event`` to every started consumer (buffered until the first start)."""
        if not self._queues:
            self._pending.append(event)
            return
        self._deliver(event)

    def trigger(self, obj: dict[str, Any] | None = None) -> None:
        """Send a ``GenericEvent`` for ``obj``, or an object-less one (``{}``)."""
        self.send(GenericEvent(obj if obj is not None else {}))

    def _deliver(self, event: GenericEvent) -> None:
        if not all(p.generic(event) for p in self.predicates):
            return
        for queue in self._queues:
            self.handler.generic(event, queue)
