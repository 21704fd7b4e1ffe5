"""Seams between the informer cache and its consumers (sources, handlers).

Objects flowing through the cache are raw Kubernetes JSON objects (``dict``), exactly
as the API server returns them. Typed models live in ``bgpctl.api`` and are built by
reconcilers from these dicts; the runtime itself knows nothing about BGP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

KubeObject = dict[str, Any]
"""A raw Kubernetes object (apiVersion, kind, metadata, spec, status)."""


@dataclass(frozen=True, slots=True)
class DeletedFinalStateUnknown:
    """Tombstone for a delete that was missed while the watch was down.

    Delivered to ``on_delete`` when a relist shows that an object vanished; ``obj`` is
    the last state the cache knew (it may be stale), or ``None`` if it never knew one.
    """

    key: str
    obj: KubeObject | None


class ResourceEventHandler(Protocol):
    """Receives notifications from an informer, in order, one at a time.

    Implementations must be cheap and synchronous: compute keys and enqueue, no I/O.
    Objects are shared with the cache and must be treated as read-only.
    """

    def on_add(self, obj: KubeObject, is_in_initial_list: bool) -> None:
        """An object appeared (or was listed at start, ``is_in_initial_list``)."""

    def on_update(self, old: KubeObject, new: KubeObject) -> None:
        """An object changed (or a resync re-delivered it: same resourceVersion)."""

    def on_delete(self, obj: KubeObject | DeletedFinalStateUnknown) -> None:
        """An object was deleted; a tombstone if the delete itself was missed."""


class HandlerRegistration(Protocol):
    """Returned by ``add_event_handler``; tells when that handler saw the initial list."""

    def has_synced(self) -> bool:
        """True once the informer synced and this handler received its initial adds."""


class Informer(Protocol):
    """What sources and the manager need from a shared informer."""

    def add_event_handler(
        self, handler: ResourceEventHandler, *, resync_period: float | None = None
    ) -> HandlerRegistration:
        """Register a handler; late handlers first get synthetic adds for the store.

        ``resync_period`` in seconds: ``None`` takes the informer's default (as
        upstream's ``AddEventHandler``), 0 never resyncs this handler.
        """

    def has_synced(self) -> bool:
        """True once the first list has been fully delivered to the store."""
