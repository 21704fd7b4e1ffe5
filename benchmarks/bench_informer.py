"""Informer throughput and memory, printed.

1. Throughput: 100,000 watch events (40k ADDED, 40k MODIFIED, 20k DELETED) through
   reflector → RealFIFO → indexer → one handler, from an in-memory lister-watcher that
   replays pre-built events (so the number is our pipeline, not the fake).
2. Memory: 10,000 cached BGPSession-sized objects; tracemalloc delta of the informer
   (store, namespace index, keys) on top of the objects themselves, and the RSS delta.

Run: .venv/bin/python benchmarks/bench_informer.py
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import structlog

from bgpctl.runtime.cache.handlers import ResourceEventHandlerFuncs
from bgpctl.runtime.cache.informer import SharedIndexInformer, wait_for_cache_sync
from bgpctl.runtime.cache.listwatch import ObjectList, WatchEvent, WatchEventType
from bgpctl.runtime.cache.store import NAMESPACE_INDEX, namespace_index_func
from bgpctl.testing.netns import rss_bytes

EVENTS = 100_000
CACHED = 10_000


def session(i: int, rv: int) -> dict[str, Any]:
    """A BGPSession roughly the size the API server returns (with managedFields)."""
    name = f"session-{i:06d}"
    return {
        "apiVersion": "bgp.miloapis.com/v1alpha1",
        "kind": "BGPSession",
        "metadata": {
            "name": name,
            "uid": f"6f1c{i:08x}-2b9e-4c7a-9d1e-3a5b7c9d1e2f",
            "resourceVersion": str(rv),
            "generation": 1,
            "creationTimestamp": "2025-01-01T00:00:00Z",
            "labels": {"bgp.miloapis.com/node": f"node-{i % 50}", "app": "bgpctl"},
            "managedFields": [
                {
                    "manager": "bgpctl",
                    "operation": "Apply",
                    "apiVersion": "bgp.miloapis.com/v1alpha1",
                    "time": "2025-01-01T00:00:00Z",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:spec": {"f:localEndpoint": {}, "f:remoteEndpoint": {}}},
                }
            ],
        },
        "spec": {
            "localEndpoint": f"node-{i % 50}",
            "remoteEndpoint": f"peer-{i}",
            "holdTime": 90,
            "keepaliveTime": 30,
        },
        "status": {
            "conditions": [
                {
                    "type": "Established",
                    "status": "True",
                    "reason": "SessionUp",
                    "message": "BGP session established",
                    "lastTransitionTime": "2025-01-01T00:00:00Z",
                }
            ]
        },
    }


class ReplayListerWatcher:
    """LIST returns ``items``; the first WATCH yields ``events`` then idles."""

    def __init__(self, items: list[dict[str, Any]], rv: str, events: list[WatchEvent]) -> None:
        self.items, self.rv, self.events = items, rv, events

    async def list(self, *, resource_version: str) -> ObjectList:
        return ObjectList(items=self.items, resource_version=self.rv)

    async def watch(self, **_: Any) -> AsyncIterator[WatchEvent]:
        events, self.events = self.events, []
        for event in events:
            yield event
        await asyncio.Event().wait()


def build_events() -> list[WatchEvent]:
    events = []
    rv = 1
    for i in range(40_000):
        rv += 1
        events.append(WatchEvent(WatchEventType.ADDED, session(i, rv)))
    for i in range(40_000):
        rv += 1
        events.append(WatchEvent(WatchEventType.MODIFIED, session(i, rv)))
    for i in range(20_000):
        rv += 1
        events.append(WatchEvent(WatchEventType.DELETED, session(i, rv)))
    return events


async def throughput() -> None:
    events = build_events()
    assert len(events) == EVENTS
    seen = 0
    done = asyncio.Event()

    def count(*_: Any) -> None:
        nonlocal seen
        seen += 1
        if seen == EVENTS:
            done.set()

    informer = SharedIndexInformer(ReplayListerWatcher([], "1", events), name="bench")
    informer.add_event_handler(
        ResourceEventHandlerFuncs(add_func=count, update_func=count, delete_func=count)
    )
    start = time.perf_counter()
    task = asyncio.create_task(informer.run())
    await done.wait()
    elapsed = time.perf_counter() - start
    task.cancel()
    await asyncio.wait([task])
    print(
        f"throughput: {EVENTS:,} events reflector->FIFO->store->handler in {elapsed:.2f} s"
        f" = {EVENTS / elapsed:,.0f} events/s; {len(informer.indexer):,} objects left"
    )


async def memory() -> None:
    gc.collect()
    rss0 = rss_bytes() // 1024
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    items = [session(i, i + 1) for i in range(CACHED)]
    objects = tracemalloc.get_traced_memory()[0] - base
    informer = SharedIndexInformer(
        ReplayListerWatcher(items, str(CACHED), []),
        name="mem",
        indexers={NAMESPACE_INDEX: namespace_index_func},  # as InformerCache sets up
    )
    task = asyncio.create_task(informer.run())
    await wait_for_cache_sync(informer.has_synced, poll_interval=0.01)
    del items
    gc.collect()
    total = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    rss1 = rss_bytes() // 1024
    # The informer's own structures, counted directly: the key -> object dict and the
    # namespace index (value -> set of keys). Keys of cluster-scoped objects are the
    # name strings the objects already hold, so they cost nothing extra.
    store = informer.indexer
    structures = sys.getsizeof(store._items) + sum(
        sys.getsizeof(keys) for index in store._indices.values() for keys in index.values()
    )
    task.cancel()
    await asyncio.wait([task])
    print(
        f"memory: {CACHED:,} cached objects: {total / 2**20:.1f} MiB traced in all"
        f" ({total / CACHED:,.0f} B/object); the objects as decoded JSON"
        f" {objects / 2**20:.1f} MiB ({objects / CACHED:,.0f} B/object); informer"
        f" structures (store dict + namespace index) {structures / 2**20:.2f} MiB"
        f" ({structures / CACHED:,.0f} B/object); RSS delta {(rss1 - rss0) / 1024:.1f} MiB"
    )


async def main() -> None:
    await throughput()
    gc.collect()
    await memory()


if __name__ == "__main__":
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    asyncio.run(main())
