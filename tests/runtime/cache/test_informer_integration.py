"""Informers on the real API server: churn, apiserver restart, 410 after compaction.

a) 2,000 create/update/delete operations across the six bgp.miloapis.com kinds: the
   cache equals a fresh quorum LIST afterwards and every delete reached a handler.
b) kube-apiserver restarted under running informers: they recover and converge.
c) a watch resumed from a compacted RV (watch cache off, so etcd answers 410): the
   informer relists and deletes that happened in the gap arrive as
   ``DeletedFinalStateUnknown`` tombstones.
Left out: timing targets (see benchmarks/bench_informer.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from structlog.testing import capture_logs

from bgpctl.envtest import ControlPlane
from bgpctl.runtime.cache.handlers import ResourceEventHandlerFuncs
from bgpctl.runtime.cache.informer import SharedIndexInformer, wait_for_cache_sync
from bgpctl.runtime.cache.informers import InformerCache
from bgpctl.runtime.cache.interfaces import DeletedFinalStateUnknown
from bgpctl.runtime.cache.listwatch import ListWatch, WatchEvent
from bgpctl.runtime.client.errors import NotFound
from bgpctl.runtime.client.interfaces import PatchType, ResourceType
from bgpctl.runtime.client.kube import KubeClient

pytestmark = pytest.mark.integration

GROUP, VERSION = "bgp.miloapis.com", "v1alpha1"


def _rt(plural: str, kind: str) -> ResourceType:
    return ResourceType(GROUP, VERSION, plural, kind, namespaced=False)


SPECS: dict[ResourceType, dict[str, Any]] = {
    _rt("bgpconfigurations", "BGPConfiguration"): {"asNumber": 65001},
    _rt("bgpendpoints", "BGPEndpoint"): {"address": "192.0.2.10", "asNumber": 65001},
    _rt("bgpsessions", "BGPSession"): {"localEndpoint": "node-a", "remoteEndpoint": "node-b"},
    _rt("bgppeeringpolicies", "BGPPeeringPolicy"): {"selector": {"matchLabels": {"role": "edge"}}},
    _rt("bgpadvertisements", "BGPAdvertisement"): {"prefixes": ["203.0.113.0/24", "2001:db8::/48"]},
    _rt("bgproutepolicies", "BGPRoutePolicy"): {
        "type": "Import",
        "statements": [{"action": "Accept"}],
    },
}
KINDS = list(SPECS)
CONFIGS, ENDPOINTS = KINDS[0], KINDS[1]


def body(rt: ResourceType, name: str) -> dict[str, Any]:
    return {
        "apiVersion": rt.api_version,
        "kind": rt.kind,
        "metadata": {"name": name, "labels": {"gen": "0"}},
        "spec": SPECS[rt],
    }


class Journal:
    """Per-kind handler journal: names added, updated and deleted (tombstones apart)."""

    def __init__(self) -> None:
        self.deleted: dict[str, set[str]] = defaultdict(set)
        self.tombstones: dict[str, list[DeletedFinalStateUnknown]] = defaultdict(list)
        self.updated: dict[str, list[str]] = defaultdict(list)

    def handler(self, rt: ResourceType) -> ResourceEventHandlerFuncs:
        def on_delete(obj: Any) -> None:
            if isinstance(obj, DeletedFinalStateUnknown):
                self.tombstones[rt.plural].append(obj)
                self.deleted[rt.plural].add(obj.key)
            else:
                self.deleted[rt.plural].add(obj["metadata"]["name"])

        return ResourceEventHandlerFuncs(
            update_func=lambda old, new: self.updated[rt.plural].append(new["metadata"]["name"]),
            delete_func=on_delete,
        )


async def server_state(client: KubeClient, rt: ResourceType) -> dict[str, str]:
    listed = await client.list(rt)  # RV "": a quorum read
    return {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in listed.items}


def cache_state(informer: SharedIndexInformer) -> dict[str, str]:
    return {
        o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in informer.indexer.list()
    }


async def converge(client: KubeClient, informers: dict[ResourceType, SharedIndexInformer]) -> None:
    """Wait (bounded) until every cache equals a fresh LIST; assert it."""
    expected: dict[str, dict[str, str]] = {}
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(60):
            while True:
                expected = {rt.plural: await server_state(client, rt) for rt in informers}
                if all(cache_state(i) == expected[rt.plural] for rt, i in informers.items()):
                    return
                await asyncio.sleep(0.2)
    for rt, informer in informers.items():
        assert cache_state(informer) == expected[rt.plural], rt.plural


@contextlib.asynccontextmanager
async def running_cache(
    client: KubeClient, kinds: list[ResourceType], journal: Journal
) -> AsyncIterator[dict[ResourceType, SharedIndexInformer]]:
    cache = InformerCache.for_client(client)
    informers = {rt: cache.get_informer(rt) for rt in kinds}
    for rt, informer in informers.items():
        informer.add_event_handler(journal.handler(rt))
    task = asyncio.create_task(cache.start())
    try:
        async with asyncio.timeout(60):
            await cache.wait_for_cache_sync()
        yield informers
    finally:
        task.cancel()
        await asyncio.wait([task])


async def test_churn_of_2000_operations_matches_a_fresh_list(control_plane: ControlPlane) -> None:
    rng = random.Random(1234)
    run = uuid.uuid4().hex[:6]
    async with await KubeClient.from_kubeconfig(control_plane.admin_kubeconfig) as client:
        config_exists = "default" in await server_state(client, CONFIGS)
        # Plan 2,000 operations as per-object chains (create, updates, maybe delete);
        # chains run concurrently, each in order.
        chains: list[tuple[ResourceType, str, list[str]]] = []
        total = 0
        counter = 0
        while total < 2000:
            rt = rng.choice(KINDS)
            if rt == CONFIGS:
                if config_exists or any(c[0] == CONFIGS for c in chains):
                    continue
                name = "default"
            else:
                counter += 1
                name = f"churn-{run}-{counter}"
            ops = ["create"] + ["update"] * rng.randint(0, 4)
            if rng.random() < 0.6:
                ops.append("delete")
            ops = ops[: 2000 - total]
            chains.append((rt, name, ops))
            total += len(ops)
        assert total == 2000
        deleted_by_us: dict[str, set[str]] = defaultdict(set)

        journal = Journal()
        async with running_cache(client, KINDS, journal) as informers:
            gate = asyncio.Semaphore(16)

            async def run_chain(rt: ResourceType, name: str, ops: list[str]) -> None:
                async with gate:
                    for i, op in enumerate(ops):
                        if op == "create":
                            await client.create(rt, body(rt, name))
                        elif op == "update":
                            patch = {"metadata": {"labels": {"gen": str(i)}}}
                            await client.patch(rt, name, patch, patch_type=PatchType.MERGE)
                        else:
                            await client.delete(rt, name)
                            deleted_by_us[rt.plural].add(name)

            async with asyncio.timeout(240):
                await asyncio.gather(*(run_chain(*c) for c in chains))
            await converge(client, informers)
            for rt in KINDS:
                assert deleted_by_us[rt.plural] <= journal.deleted[rt.plural], rt.plural
            assert sum(len(v) for v in deleted_by_us.values()) > 300

        # Leave the shared control plane as we found it.
        for rt, name, ops in chains:
            if "delete" not in ops:
                with contextlib.suppress(NotFound):
                    await client.delete(rt, name)


async def test_informers_recover_after_apiserver_restart(
    control_plane_factory: Callable[..., ControlPlane],
) -> None:
    plane = await asyncio.to_thread(control_plane_factory, [])
    kinds = [ENDPOINTS, KINDS[2]]
    journal = Journal()
    async with await KubeClient.from_kubeconfig(plane.admin_kubeconfig) as watcher_client:
        async with await KubeClient.from_kubeconfig(plane.admin_kubeconfig) as writer:
            for i in range(20):
                await writer.create(ENDPOINTS, body(ENDPOINTS, f"before-{i}"))
        async with running_cache(watcher_client, kinds, journal) as informers:
            await converge(watcher_client, informers)
            await asyncio.to_thread(plane.restart_apiserver)
            async with await KubeClient.from_kubeconfig(plane.admin_kubeconfig) as writer:
                for i in range(10):
                    await writer.create(ENDPOINTS, body(ENDPOINTS, f"after-{i}"))
                    await writer.create(kinds[1], body(kinds[1], f"after-{i}"))
                for i in range(5):
                    await writer.delete(ENDPOINTS, f"before-{i}")
                    await writer.patch(
                        ENDPOINTS,
                        f"before-{10 + i}",
                        {"metadata": {"labels": {"gen": "1"}}},
                        patch_type=PatchType.MERGE,
                    )
                await converge(writer, informers)
            assert {f"before-{i}" for i in range(5)} <= journal.deleted["bgpendpoints"]
            assert {f"before-{10 + i}" for i in range(5)} <= set(journal.updated["bgpendpoints"])


class GatedListWatch:
    """Wraps a ListerWatcher: ``close()`` ends the open watch and holds new ones back."""

    def __init__(self, inner: ListWatch) -> None:
        self._inner = inner
        self._open = asyncio.Event()
        self._open.set()
        self._cut = asyncio.Event()
        self.watch_rvs: list[str] = []

    def close(self) -> None:
        self._open.clear()
        self._cut.set()

    def open(self) -> None:
        self._cut.clear()
        self._open.set()

    async def list(self, *, resource_version: str) -> Any:
        return await self._inner.list(resource_version=resource_version)

    async def watch(self, **kwargs: Any) -> AsyncIterator[WatchEvent]:
        await self._open.wait()
        self.watch_rvs.append(kwargs["resource_version"])
        stream = self._inner.watch(**kwargs)
        step: asyncio.Future[WatchEvent] | None = None
        cut: asyncio.Future[bool] | None = None
        try:
            while True:
                step = asyncio.ensure_future(anext(stream))
                cut = asyncio.ensure_future(self._cut.wait())
                done, _ = await asyncio.wait({step, cut}, return_when=asyncio.FIRST_COMPLETED)
                cut.cancel()
                if step not in done:
                    return
                try:
                    event = step.result()
                except StopAsyncIteration:
                    return
                yield event
        finally:
            if cut is not None:
                cut.cancel()  # cancelled while waiting: the cut waiter must not outlive us
            # The inner stream may be mid-step in its own task: stop that first, or
            # closing it fails ("already running") and would mask our cancellation.
            if step is not None and not step.done():
                step.cancel()
                await asyncio.wait([step])
            await stream.aclose()  # type: ignore[attr-defined]


async def test_expired_watch_relists_and_gap_deletes_become_tombstones(
    control_plane_factory: Callable[..., ControlPlane],
) -> None:
    plane = await asyncio.to_thread(control_plane_factory, ["--watch-cache=false"])
    journal = Journal()
    async with await KubeClient.from_kubeconfig(plane.admin_kubeconfig) as client:
        for name in ("a", "b", "c"):
            await client.create(ENDPOINTS, body(ENDPOINTS, name))
        gated = GatedListWatch(ListWatch(client, ENDPOINTS))
        informer = SharedIndexInformer(gated, name="endpoints")
        informer.add_event_handler(journal.handler(ENDPOINTS))
        with capture_logs() as logs:
            task = asyncio.create_task(informer.run())
            try:
                async with asyncio.timeout(30):
                    await wait_for_cache_sync(informer.has_synced)
                    await client.create(ENDPOINTS, body(ENDPOINTS, "d"))
                    await wait_for_cache_sync(lambda: "d" in cache_state(informer))
                rv_before_gap = informer.last_sync_resource_version
                gated.close()
                await client.delete(ENDPOINTS, "b")
                await client.delete(ENDPOINTS, "c")
                await client.patch(
                    ENDPOINTS,
                    "a",
                    {"metadata": {"labels": {"gen": "9"}}},
                    patch_type=PatchType.MERGE,
                )
                await asyncio.to_thread(plane.compact_etcd)
                gated.open()
                await converge(client, {ENDPOINTS: informer})
            finally:
                task.cancel()
                await asyncio.wait([task])
    assert gated.watch_rvs[-2] == rv_before_gap  # resumed from the old RV ...
    assert any(e["event"] == "watch expired, relisting" for e in logs)  # ... got 410
    tombstones = {t.key: t for t in journal.tombstones["bgpendpoints"]}
    assert set(tombstones) == {"b", "c"}
    assert tombstones["b"].obj is not None and tombstones["b"].obj["metadata"]["name"] == "b"
    assert "a" in journal.updated["bgpendpoints"]
    assert sorted(cache_state(informer)) == ["a", "d"]
