"""Cache test helpers: recording store and handler, reflector/informer factories, runners.

Typed, and imported by the tests directly (``from bgpctl.testing.cache import ...``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from bgpctl.runtime.backoff import BackoffManager
from bgpctl.runtime.cache.informer import SharedIndexInformer, wait_for_cache_sync
from bgpctl.runtime.cache.interfaces import DeletedFinalStateUnknown
from bgpctl.runtime.cache.reflector import DEFAULT_BACKOFF, DEFAULT_BACKOFF_RESET, Reflector
from bgpctl.runtime.cache.store import IndexedStore
from bgpctl.testing.kube import FakeListerWatcher, make_object


class RecordingStore(IndexedStore):
    """An IndexedStore that remembers resyncs and RV updates."""

    def __init__(self) -> None:
        super().__init__()
        self.resyncs = 0
        self.rv_updates: list[str] = []

    def resync(self) -> None:
        self.resyncs += 1

    def update_resource_version(self, resource_version: str) -> None:
        self.rv_updates.append(resource_version)


def names(store: IndexedStore) -> list[str]:
    return sorted(o["metadata"]["name"] for o in store.list())


def make_reflector(
    lw: FakeListerWatcher, store: IndexedStore | None = None, **kwargs: Any
) -> tuple[Reflector, IndexedStore]:
    store = store if store is not None else RecordingStore()
    kwargs.setdefault(
        "backoff",
        BackoffManager(DEFAULT_BACKOFF, reset_after=DEFAULT_BACKOFF_RESET, rng=lambda: 0.0),
    )
    kwargs.setdefault("rng", lambda: 0.0)
    return Reflector(lw, store, name="test", **kwargs), store


@contextlib.asynccontextmanager
async def running(runner: Reflector | SharedIndexInformer) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(runner.run())
    try:
        await asyncio.sleep(0.01)
        yield task
    finally:
        task.cancel()
        await asyncio.wait([task])


def seeded(*names_: str) -> FakeListerWatcher:
    lw = FakeListerWatcher()
    for name in names_:
        lw.add(make_object(name))
    return lw


class RecordingHandler:
    """A ResourceEventHandler that journals what it receives, by object name."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.fail_on = fail_on

    @staticmethod
    def _name(obj: Any) -> str:
        if isinstance(obj, DeletedFinalStateUnknown):
            return f"tombstone:{obj.key}"
        return str(obj["metadata"]["name"])

    def _check(self, name: str) -> None:
        if name == self.fail_on:
            raise RuntimeError(f"handler fails on {name}")

    def on_add(self, obj: Any, is_in_initial_list: bool) -> None:
        self._check(self._name(obj))
        self.events.append(("add", self._name(obj), is_in_initial_list))

    def on_update(self, old: Any, new: Any) -> None:
        self._check(self._name(new))
        same = old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion")
        self.events.append(("sync" if same else "update", self._name(new)))

    def on_delete(self, obj: Any) -> None:
        self.events.append(("delete", self._name(obj)))


@contextlib.asynccontextmanager
async def running_informer(informer: SharedIndexInformer) -> AsyncIterator[asyncio.Task[None]]:
    async with running(informer) as task:
        await wait_for_cache_sync(informer.has_synced, poll_interval=0.01)
        yield task


def make_informer(lw: FakeListerWatcher, **kwargs: Any) -> SharedIndexInformer:
    kwargs.setdefault(
        "backoff",
        BackoffManager(DEFAULT_BACKOFF, reset_after=DEFAULT_BACKOFF_RESET, rng=lambda: 0.0),
    )
    return SharedIndexInformer(lw, name="test", **kwargs)
