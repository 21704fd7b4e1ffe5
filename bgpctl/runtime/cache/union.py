"""One informer over several server-side selections of the same resource type.

A field or label selector selects by one condition; "sessions where *either* end is
this node" needs two (``spec.localEndpoint=me``, ``spec.remoteEndpoint=me``), and the
API has no OR. :class:`UnionInformer` runs one :class:`SharedIndexInformer` per
selection (each with its own list, watch and resourceVersion, so each is exactly as
correct as any informer) and presents them as one: handlers are registered on every
member, reads look at every member's store.

- An object in several selections at once is one object (read by key, first member
  wins); its events arrive once per member that holds it.
- An object that moves from one selection to another (a field it is selected by
  changed) arrives as a delete from one member and an add or update from the other,
  in either order; a handler that reads the cache by key on the delete finds it in
  the other member, so nothing is lost.

Upstream: controller-runtime's cache takes one selector per type (``ByObject``); a
union of selections is what client-go users build by hand with several informers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bgpctl.runtime.cache.informer import SharedIndexInformer
from bgpctl.runtime.cache.interfaces import (
    HandlerRegistration,
    KubeObject,
    ResourceEventHandler,
)
from bgpctl.runtime.cache.store import IndexFunc

_Objects = list[KubeObject]  # inside UnionIndexer, ``list`` names the method
_Keys = list[str]


@dataclass(frozen=True, slots=True)
class _Registrations:
    members: tuple[HandlerRegistration, ...]

    def has_synced(self) -> bool:
        return all(r.has_synced() for r in self.members)


class UnionIndexer:
    """Read-only view over the member stores, deduplicated by key."""

    def __init__(self, members: Sequence[SharedIndexInformer]) -> None:
        self._members = members

    def get_by_key(self, key: str) -> KubeObject | None:
        """The object under ``key`` in the first member that has it."""
        for member in self._members:
            obj = member.indexer.get_by_key(key)
            if obj is not None:
                return obj
        return None

    def list(self) -> list[KubeObject]:
        """Every object once."""
        out: dict[str, KubeObject] = {}
        for member in self._members:
            for key in member.indexer.list_keys():
                if key not in out:
                    obj = member.indexer.get_by_key(key)
                    if obj is not None:
                        out[key] = obj
        return list(out.values())

    def list_keys(self) -> _Keys:
        """Every key once."""
        return list(dict.fromkeys(k for m in self._members for k in m.indexer.list_keys()))

    def by_index(self, index_name: str, value: str) -> _Objects:
        """Objects whose ``index_name`` values include ``value``, each once."""
        out: dict[str, KubeObject] = {}
        for member in self._members:
            for key in member.indexer.index_keys(index_name, value):
                obj = member.indexer.get_by_key(key)
                if key not in out and obj is not None:
                    out[key] = obj
        return list(out.values())

    def __len__(self) -> int:
        return len(self.list_keys())


class UnionInformer:
    """Several informers of one type presented as one; see the module docstring.

    Args:
        members: One informer per selection (not started; ``run`` runs them).
        name: For logs.
    """

    def __init__(self, members: Sequence[SharedIndexInformer], *, name: str) -> None:
        if not members:
            raise ValueError("a union needs at least one member")
        self.members = tuple(members)
        self.name = name
        self._indexer = UnionIndexer(self.members)

    def add_event_handler(
        self, handler: ResourceEventHandler, *, resync_period: float | None = None
    ) -> HandlerRegistration:
        """Register ``handler`` on every member."""
        return _Registrations(
            tuple(m.add_event_handler(handler, resync_period=resync_period) for m in self.members)
        )

    def has_synced(self) -> bool:
        """True once every member has synced."""
        return all(m.has_synced() for m in self.members)

    @property
    def indexer(self) -> UnionIndexer:
        """The deduplicating view over the members' stores."""
        return self._indexer

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        """Add index functions to every member."""
        for member in self.members:
            member.add_indexers(indexers)

    @property
    def last_sync_resource_version(self) -> str:
        """The first member's last synced RV (members have their own; none is "the" RV)."""
        return self.members[0].last_sync_resource_version

    async def run(self) -> None:
        """Run every member until cancelled."""
        async with asyncio.TaskGroup() as tg:
            for i, member in enumerate(self.members):
                tg.create_task(member.run(), name=f"{self.name}-{i}")
