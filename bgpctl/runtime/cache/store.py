"""Store and Indexer: the informer's local copy of the objects, with secondary indices.

Mirrors client-go ``tools/cache/store.go``, ``index.go`` and
``thread_safe_store.go``. Named index functions map an object to any number of index
values; every write (add, update, delete, replace) and ``add_indexers`` keeps the
value → keys sets exact, so ``by_index`` never needs a scan.

Upstream: a mutex guards the maps; we run on one event loop and no method awaits, so
each call is atomic by construction.

Objects are stored as given, not copied: the informer hands the same dict to every
handler, and readers that may mutate go through ``InformerCache``'s deep copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol, runtime_checkable

from bgpctl.runtime.cache.interfaces import DeletedFinalStateUnknown, KubeObject
from bgpctl.runtime.cache.keys import KeyFunc, object_key

IndexFunc = Callable[[KubeObject], list[str]]
"""Computes the index values of an object (may return several, or none)."""

# Aliases: inside the classes below, ``list`` names the method, not the builtin.
_Objects = list[KubeObject]
_Keys = list[str]

NAMESPACE_INDEX = "namespace"
"""Name of the standard index on ``metadata.namespace``."""


def namespace_index_func(obj: KubeObject) -> list[str]:
    """Index values for :data:`NAMESPACE_INDEX` (``[""]`` for cluster-scoped objects)."""
    return [str(obj.get("metadata", {}).get("namespace") or "")]


class Store(Protocol):
    """A keyed collection of objects (client-go ``cache.Store``)."""

    def add(self, obj: KubeObject) -> None:
        """Insert or replace the object under its key."""

    def update(self, obj: KubeObject) -> None:
        """Same as ``add``."""

    def delete(self, obj: KubeObject | DeletedFinalStateUnknown) -> None:
        """Remove the object with this key, if present."""

    def get_by_key(self, key: str) -> KubeObject | None:
        """The object stored under ``key``."""

    def list(self) -> _Objects:
        """All objects, in no particular order."""

    def list_keys(self) -> _Keys:
        """All keys, in no particular order."""

    def replace(self, items: Iterable[KubeObject], resource_version: str) -> None:
        """Swap the whole content for ``items``."""

    def resync(self) -> None:
        """Meaningless for a plain store; the FIFO re-queues known objects."""


class Indexer(Store, Protocol):
    """A Store with named secondary indices (client-go ``cache.Indexer``)."""

    def by_index(self, index_name: str, value: str) -> _Objects:
        """Objects whose index function returned ``value``."""

    def index_keys(self, index_name: str, value: str) -> _Keys:
        """Keys of the objects whose index function returned ``value``."""


@runtime_checkable
class ResourceVersionUpdater(Protocol):
    """Optional ability of a reflector store: told the RV after every event/bookmark."""

    def update_resource_version(self, resource_version: str) -> None:
        """Record the latest resourceVersion the reflector saw."""


class IndexedStore:
    """The in-memory ``Indexer`` implementation.

    Unknown index names raise ``KeyError``; index functions that raise propagate
    (the write is then not applied, so the indices stay consistent).
    """

    def __init__(
        self,
        *,
        key_func: KeyFunc = object_key,
        indexers: Mapping[str, IndexFunc] | None = None,
    ) -> None:
        self._key_func = key_func
        self._items: dict[str, KubeObject] = {}
        self._indexers: dict[str, IndexFunc] = dict(indexers or {})
        # index name -> index value -> keys holding that value
        self._indices: dict[str, dict[str, set[str]]] = {name: {} for name in self._indexers}

    # -- Store ------------------------------------------------------------------

    def add(self, obj: KubeObject) -> None:
        """Insert or replace ``obj``; indices are updated from old to new values."""
        key = self._key_func(obj)
        self._update_indices(key, self._items.get(key), obj)
        self._items[key] = obj

    update = add

    def delete(self, obj: KubeObject | DeletedFinalStateUnknown) -> None:
        """Remove the object with the key of ``obj`` (a tombstone works too)."""
        self.delete_by_key(self._key_func(obj))

    def delete_by_key(self, key: str) -> None:
        """Remove the object stored under ``key``, if any."""
        old = self._items.get(key)
        if old is not None:
            self._update_indices(key, old, None)
            del self._items[key]

    def get(self, obj: KubeObject | DeletedFinalStateUnknown) -> KubeObject | None:
        """The stored object with the same key as ``obj``."""
        return self._items.get(self._key_func(obj))

    def get_by_key(self, key: str) -> KubeObject | None:
        """The object stored under ``key``."""
        return self._items.get(key)

    def list(self) -> _Objects:
        """All objects."""
        return list(self._items.values())

    def list_keys(self) -> _Keys:
        """All keys."""
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def replace(self, items: Iterable[KubeObject], resource_version: str = "") -> None:
        """Swap the content for ``items`` and rebuild every index from scratch."""
        self._items = {self._key_func(obj): obj for obj in items}
        self._indices = {name: {} for name in self._indexers}
        for key, obj in self._items.items():
            self._update_indices(key, None, obj)

    def resync(self) -> None:
        """Nothing to do for a store."""

    # -- Indexer ----------------------------------------------------------------

    def index(self, index_name: str, obj: KubeObject) -> _Objects:
        """Objects that share at least one index value with ``obj``."""
        fn = self._indexer(index_name)
        index = self._indices[index_name]
        keys: set[str] = set()
        for value in fn(obj):
            keys |= index.get(value, set())
        return [self._items[k] for k in keys]

    def index_keys(self, index_name: str, value: str) -> _Keys:
        """Keys whose object has ``value`` in the named index."""
        self._indexer(index_name)
        return list(self._indices[index_name].get(value, ()))

    def by_index(self, index_name: str, value: str) -> _Objects:
        """Objects that have ``value`` in the named index."""
        return [self._items[k] for k in self.index_keys(index_name, value)]

    def list_index_func_values(self, index_name: str) -> _Keys:
        """Every value currently present in the named index."""
        self._indexer(index_name)
        return list(self._indices[index_name])

    def get_indexers(self) -> dict[str, IndexFunc]:
        """A copy of the index functions by name."""
        return dict(self._indexers)

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        """Add index functions; existing objects are indexed at once.

        Raises:
            ValueError: an index with one of these names exists already.
        """
        clash = set(indexers) & set(self._indexers)
        if clash:
            raise ValueError(f"indexer conflict: {sorted(clash)}")
        for name, fn in indexers.items():
            self._indexers[name] = fn
            index: dict[str, set[str]] = {}
            for key, obj in self._items.items():
                for value in fn(obj):
                    index.setdefault(value, set()).add(key)
            self._indices[name] = index

    # -- internals --------------------------------------------------------------

    def _indexer(self, index_name: str) -> IndexFunc:
        try:
            return self._indexers[index_name]
        except KeyError:
            raise KeyError(f"index {index_name!r} does not exist") from None

    def _update_indices(self, key: str, old: KubeObject | None, new: KubeObject | None) -> None:
        # Compute every new value list first: if an index function raises, no index
        # has been touched yet and the store stays consistent with its indices.
        changes = []
        for name, fn in self._indexers.items():
            old_values = fn(old) if old is not None else []
            new_values = fn(new) if new is not None else []
            # The common case (one unchanged value, e.g. the namespace) costs nothing.
            if old_values != new_values:
                changes.append((name, old_values, new_values))
        for name, old_values, new_values in changes:
            index = self._indices[name]
            for value in set(old_values) - set(new_values):
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        # Empty sets would make list_index_func_values lie and leak.
                        del index[value]
            for value in set(new_values) - set(old_values):
                index.setdefault(value, set()).add(key)
