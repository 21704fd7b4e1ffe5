"""Ready-made ``ResourceEventHandler`` implementations.

Mirrors client-go ``tools/cache/controller.go`` (``ResourceEventHandlerFuncs``,
``FilteringResourceEventHandler``). The filtering handler is the base for label
selector predicates: an update whose objects enter or leave the filter becomes an
add or a delete, so the wrapped handler sees a consistent filtered world.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bgpctl.runtime.cache.interfaces import (
    DeletedFinalStateUnknown,
    KubeObject,
    ResourceEventHandler,
)


@dataclass(slots=True)
class ResourceEventHandlerFuncs:
    """A handler built from optional callables; missing ones ignore the event."""

    add_func: Callable[[KubeObject, bool], None] | None = None
    update_func: Callable[[KubeObject, KubeObject], None] | None = None
    delete_func: Callable[[KubeObject | DeletedFinalStateUnknown], None] | None = None

    def on_add(self, obj: KubeObject, is_in_initial_list: bool) -> None:
        """Call ``add_func``."""
        if self.add_func is not None:
            self.add_func(obj, is_in_initial_list)

    def on_update(self, old: KubeObject, new: KubeObject) -> None:
        """Call ``update_func``."""
        if self.update_func is not None:
            self.update_func(old, new)

    def on_delete(self, obj: KubeObject | DeletedFinalStateUnknown) -> None:
        """Call ``delete_func``."""
        if self.delete_func is not None:
            self.delete_func(obj)


@dataclass(slots=True)
class FilteringResourceEventHandler:
    """Passes on only the objects accepted by ``filter_func``.

    An update from rejected to accepted is delivered as an add (not in the initial
    list), from accepted to rejected as a delete of the *old* object, and between two
    rejected objects not at all. Deletes are delivered if the object (or the
    tombstone's last known object) passes; tombstones without an object always pass.
    """

    filter_func: Callable[[KubeObject], bool]
    handler: ResourceEventHandler

    def on_add(self, obj: KubeObject, is_in_initial_list: bool) -> None:
        """Forward if accepted."""
        if self.filter_func(obj):
            self.handler.on_add(obj, is_in_initial_list)

    def on_update(self, old: KubeObject, new: KubeObject) -> None:
        """Forward as update, add or delete depending on which side passes."""
        old_ok, new_ok = self.filter_func(old), self.filter_func(new)
        if old_ok and new_ok:
            self.handler.on_update(old, new)
        elif new_ok:
            self.handler.on_add(new, False)
        elif old_ok:
            self.handler.on_delete(old)

    def on_delete(self, obj: KubeObject | DeletedFinalStateUnknown) -> None:
        """Forward if accepted (judged on the tombstone's last state if any)."""
        target = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        if target is None or self.filter_func(target):
            self.handler.on_delete(obj)
