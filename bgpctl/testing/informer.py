"""FakeInformer: a scriptable stand-in for a shared informer, for source/controller tests.

Implements ``bgpctl.runtime.cache.interfaces.Informer``. Notifications are delivered
synchronously, in call order, to every registered handler. A handler registered after
objects exist first receives them as ``on_add(obj, is_in_initial_list=True)``, as a real
informer does for late handlers. ``has_synced`` is whatever the test sets with
``mark_synced``. Never imported by production code.
"""

from __future__ import annotations

from dataclasses import dataclass

from bgpctl.runtime.cache.interfaces import (
    DeletedFinalStateUnknown,
    HandlerRegistration,
    KubeObject,
    ResourceEventHandler,
)


def object_key(obj: KubeObject) -> str:
    """``"namespace/name"``, or ``"name"`` for cluster-scoped objects."""
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace") or ""
    name: str = meta.get("name", "")
    return f"{namespace}/{name}" if namespace else name


@dataclass
class _Registration:
    informer: FakeInformer

    def has_synced(self) -> bool:
        return self.informer.has_synced()


class FakeInformer:
    """An in-memory informer whose events the test drives by hand.

    Args:
        objects: Initial store contents (delivered to handlers as initial-list adds).
        synced: Initial ``has_synced`` value.
    """

    def __init__(self, objects: list[KubeObject] | None = None, *, synced: bool = True) -> None:
        self.store: dict[str, KubeObject] = {object_key(o): o for o in objects or ()}
        self.handlers: list[ResourceEventHandler] = []
        self.resync_periods: list[float] = []
        self._synced = synced

    def add_event_handler(
        self, handler: ResourceEventHandler, *, resync_period: float = 0.0
    ) -> HandlerRegistration:
        self.handlers.append(handler)
        self.resync_periods.append(resync_period)
        for obj in list(self.store.values()):
            handler.on_add(obj, True)
        return _Registration(self)

    def has_synced(self) -> bool:
        return self._synced

    def mark_synced(self, synced: bool = True) -> None:
        self._synced = synced

    def add(self, obj: KubeObject) -> None:
        """Store ``obj`` and notify ``on_add`` (not from the initial list)."""
        self.store[object_key(obj)] = obj
        for handler in self.handlers:
            handler.on_add(obj, False)

    def update(self, new: KubeObject) -> None:
        """Replace the stored object with the same key and notify ``on_update``.

        Raises:
            KeyError: Nothing stored under ``new``'s key.
        """
        key = object_key(new)
        old = self.store[key]
        self.store[key] = new
        for handler in self.handlers:
            handler.on_update(old, new)

    def resync(self) -> None:
        """Notify ``on_update(obj, obj)`` for every stored object."""
        for obj in list(self.store.values()):
            for handler in self.handlers:
                handler.on_update(obj, obj)

    def delete(self, obj: KubeObject) -> None:
        """Remove ``obj`` from the store and notify ``on_delete(obj)``."""
        self.store.pop(object_key(obj), None)
        for handler in self.handlers:
            handler.on_delete(obj)

    def delete_unknown(self, key: str, last: KubeObject | None) -> None:
        """A missed delete found by a relist: notify ``on_delete`` with a tombstone."""
        self.store.pop(key, None)
        tombstone = DeletedFinalStateUnknown(key=key, obj=last)
        for handler in self.handlers:
            handler.on_delete(tombstone)
