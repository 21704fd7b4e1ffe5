"""InformerCache: one shared informer per resource type, read through deep copies.

Mirrors controller-runtime ``pkg/cache/informer_cache.go`` and
``internal/cache_reader.go``: informers are created on first use (and started at once
if the cache runs), reads wait for that informer's first sync, and objects handed out
are deep copies, so a caller mutating its result cannot corrupt the cache that every
handler shares.

Upstream: informers are keyed by GroupVersionKind found through a RESTMapper; we key
them by :class:`ResourceType` (group, version, plural), which callers already hold.
Upstream's ``Get`` on a missing object builds a NotFound ``StatusError``; we raise our
``NotFound`` the same way, so callers handle cache and API misses alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from bgpctl.runtime.cache.informer import SharedIndexInformer, wait_for_cache_sync
from bgpctl.runtime.cache.interfaces import KubeObject
from bgpctl.runtime.cache.listwatch import ListerWatcher, ListWatch
from bgpctl.runtime.cache.reflector import DEFAULT_MIN_WATCH_TIMEOUT
from bgpctl.runtime.cache.selector import parse_selector
from bgpctl.runtime.cache.store import NAMESPACE_INDEX, IndexFunc, namespace_index_func
from bgpctl.runtime.cache.union import UnionInformer
from bgpctl.runtime.client.errors import NotFound
from bgpctl.runtime.client.interfaces import ListWatchClient, ObjectList, ResourceType

T = TypeVar("T")

_Objects = list[KubeObject]  # inside InformerCache, ``list`` names the method

ListerWatcherFactory = Callable[[ResourceType], ListerWatcher]
SelectedListerWatcherFactory = Callable[[ResourceType, "Selection"], ListerWatcher]
Transform = Callable[[KubeObject], KubeObject]
"""Applied to every object before it is stored (client-go ``SetTransform``)."""

CacheInformer = SharedIndexInformer | UnionInformer


@dataclass(frozen=True, slots=True)
class Selection:
    """A server-side selection of one resource type (field and/or label selector)."""

    field_selector: str | None = None
    label_selector: str | None = None


class CacheNotStartedError(RuntimeError):
    """A read was attempted before ``InformerCache.start`` is running."""


def deep_copy(value: T) -> T:
    """Copy a JSON-like value (dicts, lists, scalars); ~5× faster than ``copy.deepcopy``."""
    if isinstance(value, dict):
        return {k: deep_copy(v) for k, v in value.items()}  # type: ignore[return-value]
    if isinstance(value, list):
        return [deep_copy(v) for v in value]  # type: ignore[return-value]
    return value


def _labels(obj: KubeObject) -> Mapping[str, str]:
    labels = obj.get("metadata", {}).get("labels")
    return labels if isinstance(labels, dict) else {}


class InformerCache:
    """Shared informers by resource type plus a deep-copying ``Reader``.

    Args:
        lister_watcher_factory: Builds the ListerWatcher of a resource type.
        resync_period: Default resync period of every informer, seconds (0 = none).
        min_watch_timeout: Passed to every reflector.
        selections: Resource types the cache holds only part of: the objects in any
            of the given server-side selections (one informer each, presented as one
            :class:`UnionInformer`). Needs ``selected_factory``.
        selected_factory: Builds the ListerWatcher of one selection.
        transforms: Per resource type, a function applied to each object before it
            is stored (e.g. to drop fields nobody reads).
    """

    def __init__(
        self,
        lister_watcher_factory: ListerWatcherFactory,
        *,
        resync_period: float = 0.0,
        min_watch_timeout: float = DEFAULT_MIN_WATCH_TIMEOUT,
        selections: Mapping[ResourceType, Sequence[Selection]] | None = None,
        selected_factory: SelectedListerWatcherFactory | None = None,
        transforms: Mapping[ResourceType, Transform] | None = None,
    ) -> None:
        self._factory = lister_watcher_factory
        self._resync_period = resync_period
        self._min_watch_timeout = min_watch_timeout
        self._selections = {_key(rt): tuple(v) for rt, v in (selections or {}).items()}
        if self._selections and selected_factory is None:
            raise ValueError("selections need a selected_factory")
        self._selected_factory = selected_factory
        self._transforms = {_key(rt): t for rt, t in (transforms or {}).items()}
        self._informers: dict[tuple[str, str, str], CacheInformer] = {}
        self._task_group: asyncio.TaskGroup | None = None

    @classmethod
    def for_client(cls, client: ListWatchClient, **kwargs: Any) -> InformerCache:
        """A cache whose informers list and watch through ``client`` (e.g. KubeClient)."""
        return cls(
            lambda rt: ListWatch(client, rt),
            selected_factory=lambda rt, sel: ListWatch(
                client, rt, field_selector=sel.field_selector, label_selector=sel.label_selector
            ),
            **kwargs,
        )

    # -- informers ------------------------------------------------------------------

    def get_informer(self, rt: ResourceType) -> CacheInformer:
        """The informer for ``rt``, created (and started, if running) on first use."""
        key = _key(rt)
        informer = self._informers.get(key)
        if informer is None:
            selections = self._selections.get(key)
            if selections and self._selected_factory is not None:
                factory = self._selected_factory
                informer = UnionInformer(
                    [self._new_informer(rt, factory(rt, sel)) for sel in selections],
                    name=str(rt),
                )
            else:
                informer = self._new_informer(rt, self._factory(rt))
            self._informers[key] = informer
            if self._task_group is not None:
                self._task_group.create_task(informer.run(), name=f"informer-{rt}")
        return informer

    def _new_informer(self, rt: ResourceType, lw: ListerWatcher) -> SharedIndexInformer:
        return SharedIndexInformer(
            lw,
            name=str(rt),
            resync_period=self._resync_period,
            indexers={NAMESPACE_INDEX: namespace_index_func},
            min_watch_timeout=self._min_watch_timeout,
            transform=self._transforms.get(_key(rt)),
        )

    def add_indexers(self, rt: ResourceType, indexers: Mapping[str, IndexFunc]) -> None:
        """Add index functions to the informer of ``rt`` (for ``by_index``)."""
        self.get_informer(rt).add_indexers(indexers)

    async def start(self) -> None:
        """Run every informer (including ones created later) until cancelled.

        Raises:
            RuntimeError: already running.
        """
        if self._task_group is not None:
            raise RuntimeError("informer cache already started")
        try:
            async with asyncio.TaskGroup() as tg:
                self._task_group = tg
                for rt_key, informer in list(self._informers.items()):
                    tg.create_task(informer.run(), name=f"informer-{'/'.join(rt_key)}")
                # Stay up with no informer yet: they may be created later, on first use.
                await asyncio.get_running_loop().create_future()
        finally:
            self._task_group = None

    def has_synced(self) -> bool:
        """True once every informer created so far has synced."""
        return all(i.has_synced() for i in self._informers.values())

    async def wait_for_cache_sync(self) -> None:
        """Wait until every informer has synced; bound it with ``asyncio.timeout``."""
        await wait_for_cache_sync(self.has_synced)

    async def _synced_informer(self, rt: ResourceType) -> CacheInformer:
        if self._task_group is None:
            raise CacheNotStartedError("the informer cache is not running")
        informer = self.get_informer(rt)
        if not informer.has_synced():
            await wait_for_cache_sync(informer.has_synced)
        return informer

    # -- Reader ---------------------------------------------------------------------

    async def get(self, rt: ResourceType, name: str, *, namespace: str | None = None) -> KubeObject:
        """A deep copy of one cached object.

        Waits for the type's first sync. Raises ``NotFound`` if absent and
        ``CacheNotStartedError`` if the cache is not running.
        """
        informer = await self._synced_informer(rt)
        key = f"{namespace}/{name}" if rt.namespaced and namespace else name
        obj = informer.indexer.get_by_key(key)
        if obj is None:
            raise NotFound(
                f'{rt.plural}.{rt.group} "{name}" not found',
                reason="NotFound",
                details={"name": name, "group": rt.group, "kind": rt.plural},
            )
        return deep_copy(obj)

    async def list(
        self,
        rt: ResourceType,
        *,
        namespace: str | None = None,
        label_selector: str | Mapping[str, str] | None = None,
    ) -> ObjectList:
        """Deep copies of the cached objects, optionally by namespace and labels.

        ``resource_version`` of the result is the informer's last synced RV.
        """
        informer = await self._synced_informer(rt)
        if rt.namespaced and namespace:
            objects = informer.indexer.by_index(NAMESPACE_INDEX, namespace)
        else:
            objects = informer.indexer.list()
        if label_selector:
            matches = parse_selector(label_selector)
            objects = [o for o in objects if matches(_labels(o))]
        return ObjectList(
            items=[deep_copy(o) for o in objects],
            resource_version=informer.last_sync_resource_version,
        )

    async def by_index(self, rt: ResourceType, index_name: str, value: str) -> _Objects:
        """Deep copies of the objects whose ``index_name`` values include ``value``."""
        informer = await self._synced_informer(rt)
        return [deep_copy(o) for o in informer.indexer.by_index(index_name, value)]


def _key(rt: ResourceType) -> tuple[str, str, str]:
    return (rt.group, rt.version, rt.plural)
