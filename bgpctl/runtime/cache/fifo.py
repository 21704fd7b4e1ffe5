"""The in-order queue between the reflector and the informer's processing loop.

Mirrors client-go ``tools/cache/the_real_fifo.go`` (``RealFIFO``, the current default,
in its non-atomic mode with known objects):

- every change becomes one :class:`Delta`, kept in arrival order; nothing is merged per
  key (the controller's workqueue deduplicates later);
- ``replace`` turns "the list no longer has key K" into a ``Deleted`` delta carrying a
  :class:`DeletedFinalStateUnknown`, then appends ``Replaced`` for every listed item;
- ``resync`` re-queues, as ``Sync``, known objects that have no delta queued;
- ``has_synced`` becomes true once the deltas queued by the first ``replace`` have
  all been popped (or at once if an add/update/delete came first).

Upstream: ``Pop`` blocks a goroutine on a condition variable and holds the lock while
the callback runs; we ``await`` an ``asyncio.Event`` and call the synchronous callback
without yielding, so nobody can observe the FIFO between a pop and its processing.
Upstream's ``ErrRequeue`` and atomic/batched modes are not carried over.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from bgpctl.runtime.cache.interfaces import DeletedFinalStateUnknown, KubeObject
from bgpctl.runtime.cache.keys import KeyFunc, object_key


class DeltaType(Enum):
    """What happened to an object."""

    ADDED = "Added"
    UPDATED = "Updated"
    DELETED = "Deleted"
    REPLACED = "Replaced"
    """Listed by a (re)list; the informer turns it into an add or an update."""
    SYNC = "Sync"
    """Re-delivered by a periodic resync; unchanged since last seen."""


@dataclass(frozen=True, slots=True)
class Delta:
    """One queued change. ``object`` is a tombstone only for ``DELETED``."""

    type: DeltaType
    object: KubeObject | DeletedFinalStateUnknown


class KeyListerGetter(Protocol):
    """What the FIFO needs to know about the objects the informer already has."""

    def list_keys(self) -> list[str]:
        """Every key in the store."""

    def get_by_key(self, key: str) -> KubeObject | None:
        """The stored object, if any."""


class FIFOClosedError(Exception):
    """``pop`` was called on (or woken by) a closed, empty FIFO."""


PopProcessFunc = Callable[[Delta, bool], None]
"""Called with a delta and ``is_in_initial_list`` (the FIFO had not synced yet)."""


class RealFIFO:
    """In-order delta queue with tombstones on replace.

    Args:
        known_objects: The informer's store; consulted by ``replace`` (to find
            deletions missed while not watching) and ``resync``.
        key_func: Key of an object or tombstone.
    """

    def __init__(self, *, known_objects: KeyListerGetter, key_func: KeyFunc = object_key) -> None:
        self._items: deque[Delta] = deque()
        self._known = known_objects
        self._key_func = key_func
        self._not_empty = asyncio.Event()
        self._closed = False
        # Set by the first add/update/delete/replace: before that, nobody can say
        # whether the queue holds "everything".
        self._populated = False
        # Deltas queued by the first replace and not popped yet.
        self._initial_population_count = 0

    # -- writers (called by the reflector) --------------------------------------

    def add(self, obj: KubeObject) -> None:
        """Queue an ``ADDED`` delta."""
        self._populated = True
        self._append(DeltaType.ADDED, obj)

    def update(self, obj: KubeObject) -> None:
        """Queue an ``UPDATED`` delta."""
        self._populated = True
        self._append(DeltaType.UPDATED, obj)

    def delete(self, obj: KubeObject | DeletedFinalStateUnknown) -> None:
        """Queue a ``DELETED`` delta.

        Upstream's DeltaFIFO ignores deletes of unknown keys and merges double
        deletes; the RealFIFO (and we) queue every one and let the store ignore it.
        """
        # A direct write before the first list (a FIFO fed by hand) counts as
        # populated, so has_synced cannot hang waiting for a replace.
        self._populated = True
        self._append(DeltaType.DELETED, obj)

    def replace(self, items: Iterable[KubeObject], resource_version: str = "") -> None:
        """Queue the result of a LIST, with tombstones for keys it no longer has."""
        items = list(items)
        new_keys = {self._key_func(obj) for obj in items}

        # 1. Keys with queued deltas: only the newest delta per key matters. If it is
        # not already a delete and the key is gone from the list, the delete was
        # missed; its last known state is the newest queued object.
        queued_keys: set[str] = set()
        missed: list[DeletedFinalStateUnknown] = []
        for delta in reversed(self._items):
            key = self._key_func(delta.object)
            if key in queued_keys:
                continue
            queued_keys.add(key)
            if key in new_keys or delta.type is DeltaType.DELETED:
                continue
            last = delta.object
            last_obj = last.obj if isinstance(last, DeletedFinalStateUnknown) else last
            missed.append(DeletedFinalStateUnknown(key=key, obj=last_obj))
        # Appended after the scan (never while iterating the queue), oldest key first.
        for tombstone in reversed(missed):
            self._append(DeltaType.DELETED, tombstone)

        # 2. Keys the informer's store knows and nothing is queued for.
        for key in self._known.list_keys():
            if key in new_keys or key in queued_keys:
                continue
            stored = self._known.get_by_key(key)
            self._append(DeltaType.DELETED, DeletedFinalStateUnknown(key=key, obj=stored))

        # 3. The listed state itself, after the deletions so that a handler never sees
        # an object twice under one key with a delete in between from the same list.
        for obj in items:
            self._append(DeltaType.REPLACED, obj)

        if not self._populated:
            self._populated = True
            self._initial_population_count = len(self._items)

    def resync(self) -> None:
        """Queue ``SYNC`` for every known object without a queued delta.

        Keys with a queued delta are skipped: re-sending the stored (older) state
        after a newer queued one would move handlers backwards.
        """
        queued = {self._key_func(d.object) for d in self._items}
        for key in self._known.list_keys():
            if key in queued:
                continue
            obj = self._known.get_by_key(key)
            if obj is not None:
                self._append(DeltaType.SYNC, obj)

    # -- reader (the informer's processing loop) ---------------------------------

    async def pop(self, process: PopProcessFunc) -> Delta:
        """Wait for the oldest delta, hand it to ``process`` and return it.

        ``process`` runs before this returns and without any suspension between the
        dequeue and the call, so ``has_synced`` can never be true while the last
        initial item is still unprocessed.

        Raises:
            FIFOClosedError: the FIFO is closed and empty.
            Exception: whatever ``process`` raised (the delta is dropped).
        """
        while not self._items:
            if self._closed:
                raise FIFOClosedError
            self._not_empty.clear()
            await self._not_empty.wait()
        is_in_initial_list = not self.has_synced()
        delta = self._items.popleft()
        if self._initial_population_count > 0:
            self._initial_population_count -= 1
        process(delta, is_in_initial_list)
        return delta

    def close(self) -> None:
        """Wake ``pop``; it drains what is queued, then raises ``FIFOClosedError``."""
        self._closed = True
        self._not_empty.set()

    @property
    def is_closed(self) -> bool:
        """Whether ``close`` was called."""
        return self._closed

    def has_synced(self) -> bool:
        """True once the first replace (or any earlier write) has been fully popped."""
        return self._populated and self._initial_population_count == 0

    def __len__(self) -> int:
        return len(self._items)

    def list_keys(self) -> list[str]:
        """Keys with at least one queued delta (for tests and debugging)."""
        return list(dict.fromkeys(self._key_func(d.object) for d in self._items))

    # -- internals --------------------------------------------------------------

    def _append(self, dtype: DeltaType, obj: KubeObject | DeletedFinalStateUnknown) -> None:
        self._key_func(obj)  # reject keyless objects here, not in the consumer
        self._items.append(Delta(dtype, obj))
        self._not_empty.set()
