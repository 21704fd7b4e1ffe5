"""Event handlers: turn events into reconcile requests on a queue.

Mirrors controller-runtime pkg/handler: ``enqueue_for_object`` (the object itself),
``enqueue_for_owner`` (its owner from ``metadata.ownerReferences``) and
``enqueue_from_map_func`` (any requests a function derives from it). Handlers are
synchronous and cheap: they compute keys and enqueue, and never do I/O.

Upstream gives handlers the full rate-limiting queue; ours get ``RequestQueue`` (only
``add``), because no handler needs more and it keeps fakes trivial. Upstream asks a
RESTMapper whether the owner kind is namespaced; ``enqueue_for_owner`` takes that as a
flag, because the runtime has no discovery client and all our kinds are cluster-scoped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from bgpctl.runtime.event import CreateEvent, DeleteEvent, GenericEvent, UpdateEvent
from bgpctl.runtime.reconcile import Request

_log = structlog.get_logger(__name__)

MapFunc = Callable[[dict[str, Any]], Iterable[Request]]
"""Derives the requests an object should trigger (maybe none)."""


class RequestQueue(Protocol):
    """The part of the work queue that handlers use."""

    def add(self, item: Request) -> None:
        """Enqueue a request (deduplicated by the queue)."""
        ...


class EventHandler(Protocol):
    """Maps each kind of event to requests on ``queue``. Must not block or do I/O."""

    def create(self, event: CreateEvent, queue: RequestQueue) -> None:
        """Handle an add."""
        ...

    def update(self, event: UpdateEvent, queue: RequestQueue) -> None:
        """Handle an update (including resyncs)."""
        ...

    def delete(self, event: DeleteEvent, queue: RequestQueue) -> None:
        """Handle a delete (including missed deletes found by a relist)."""
        ...

    def generic(self, event: GenericEvent, queue: RequestQueue) -> None:
        """Handle an event from outside the API server."""
        ...


def request_for(obj: dict[str, Any]) -> Request | None:
    """The request naming ``obj``, or ``None`` when it has no name."""
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    if not name:
        return None
    return Request(namespace=meta.get("namespace") or "", name=name)


class _MapHandler:
    """Shared shape: map each object to requests; updates map old and new, deduplicated."""

    def _map(self, obj: dict[str, Any]) -> Iterable[Request]:
        raise NotImplementedError

    def _enqueue(self, queue: RequestQueue, *objs: dict[str, Any]) -> None:
        seen: set[Request] = set()
        for obj in objs:
            for request in self._map(obj):
                if request not in seen:
                    seen.add(request)
                    queue.add(request)

    def create(self, event: CreateEvent, queue: RequestQueue) -> None:
        """Enqueue the requests of the new object."""
        self._enqueue(queue, event.obj)

    def update(self, event: UpdateEvent, queue: RequestQueue) -> None:
        """Enqueue the requests of the old and the new object."""
        self._enqueue(queue, event.old, event.new)

    def delete(self, event: DeleteEvent, queue: RequestQueue) -> None:
        """Enqueue the requests of the deleted object."""
        self._enqueue(queue, event.obj)

    def generic(self, event: GenericEvent, queue: RequestQueue) -> None:
        """Enqueue the requests of the event's object."""
        self._enqueue(queue, event.obj)


class EnqueueRequestForObject(_MapHandler):
    """Enqueues the event's own object.

    Upstream enqueues only the new object on update (the name cannot change); so do we.
    Objects without a name are logged and skipped.
    """

    def _map(self, obj: dict[str, Any]) -> Iterable[Request]:
        request = request_for(obj)
        if request is None:
            _log.error("event object has no name", object_kind=obj.get("kind"))
            return ()
        return (request,)

    def update(self, event: UpdateEvent, queue: RequestQueue) -> None:
        """Enqueue the new object."""
        self._enqueue(queue, event.new)


def _group_of(api_version: str) -> str:
    # "group/version" -> group; a bare "v1" is the core group "".
    group, sep, _version = api_version.rpartition("/")
    return group if sep else ""


@dataclass(frozen=True, slots=True)
class EnqueueRequestForOwner(_MapHandler):
    """Enqueues the owners of the event's object that have the given group and kind.

    Attributes:
        owner_group: API group of the owner kind ("" for core), version ignored.
        owner_kind: Kind of the owner, e.g. ``"BGPPeeringPolicy"``.
        only_controller: Only follow the reference with ``controller: true``.
        owner_namespaced: The owner kind is namespaced: the request takes the object's
            namespace. Otherwise (cluster-scoped owner) the namespace is "".
    """

    owner_group: str
    owner_kind: str
    only_controller: bool = False
    owner_namespaced: bool = False

    def _map(self, obj: dict[str, Any]) -> Iterable[Request]:
        meta = obj.get("metadata") or {}
        namespace = (meta.get("namespace") or "") if self.owner_namespaced else ""
        requests: list[Request] = []
        for ref in meta.get("ownerReferences") or ():
            if ref.get("kind") != self.owner_kind:
                continue
            if _group_of(ref.get("apiVersion", "")) != self.owner_group:
                continue
            if self.only_controller and not ref.get("controller"):
                continue
            if ref.get("name"):
                requests.append(Request(namespace=namespace, name=ref["name"]))
        return requests


@dataclass(frozen=True, slots=True)
class EnqueueRequestsFromMapFunc(_MapHandler):
    """Enqueues whatever ``fn`` returns for the event's object (old and new on update).

    Attributes:
        fn: Synchronous, cheap mapping (read caches, never call the API server).
    """

    fn: MapFunc

    def _map(self, obj: dict[str, Any]) -> Iterable[Request]:
        return self.fn(obj)


def enqueue_for_object() -> EventHandler:
    """Handler that enqueues the object the event is about."""
    return EnqueueRequestForObject()


def enqueue_for_owner(
    *,
    owner_group: str,
    owner_kind: str,
    only_controller: bool = False,
    owner_namespaced: bool = False,
) -> EventHandler:
    """Handler that enqueues the object's owners of kind ``owner_kind`` in ``owner_group``.

    Args:
        owner_group: API group of the owner ("" for core); the version is ignored.
        owner_kind: Kind of the owner.
        only_controller: Follow only the controller reference (``controller: true``).
        owner_namespaced: The owner kind is namespaced (request in the object's namespace).
    """
    return EnqueueRequestForOwner(
        owner_group=owner_group,
        owner_kind=owner_kind,
        only_controller=only_controller,
        owner_namespaced=owner_namespaced,
    )


def enqueue_from_map_func(fn: MapFunc) -> EventHandler:
    """Handler that enqueues ``fn(obj)``; on update both ``fn(old)`` and ``fn(new)``."""
    return EnqueueRequestsFromMapFunc(fn)
