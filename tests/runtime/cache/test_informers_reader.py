"""InformerCache: one informer per type, lazy start, deep-copying reads, selectors.

Mirrors controller-runtime ``pkg/cache`` behaviour (``informer_cache_test.go``,
``cache_reader``): reads wait for sync, missing objects raise NotFound, results are
copies. The kube-backed path is covered by the integration tests.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from bgpctl.runtime.cache.informers import CacheNotStartedError, InformerCache, deep_copy
from bgpctl.runtime.cache.selector import parse_selector
from bgpctl.runtime.client.errors import NotFound, is_not_found
from bgpctl.runtime.client.interfaces import ResourceType
from bgpctl.testing.kube import FakeListerWatcher, make_object

WIDGETS = ResourceType("example.com", "v1", "widgets", "Widget", namespaced=True)
GADGETS = ResourceType("example.com", "v1", "gadgets", "Gadget", namespaced=False)


@contextlib.asynccontextmanager
async def started(cache: InformerCache):  # type: ignore[no-untyped-def]
    task = asyncio.create_task(cache.start())
    try:
        await asyncio.sleep(0)
        yield task
    finally:
        task.cancel()
        await asyncio.wait([task])


def fake_cluster() -> tuple[dict[str, FakeListerWatcher], InformerCache]:
    fakes = {"widgets": FakeListerWatcher(), "gadgets": FakeListerWatcher()}
    fakes["widgets"].add(make_object("w1", namespace="a", labels={"tier": "edge"}))
    fakes["widgets"].add(make_object("w2", namespace="b", labels={"tier": "core"}))
    fakes["gadgets"].add(make_object("g1", kind="Gadget"))
    return fakes, InformerCache(lambda rt: fakes[rt.plural])


@pytest.mark.looptime
async def test_reads_wait_for_sync_and_return_copies() -> None:
    fakes, cache = fake_cluster()
    async with started(cache):
        got = await cache.get(WIDGETS, "w1", namespace="a")
        got["spec"]["mutated"] = True
        again = await cache.get(WIDGETS, "w1", namespace="a")
        assert "mutated" not in again["spec"]
        assert (await cache.get(GADGETS, "g1"))["kind"] == "Gadget"


@pytest.mark.looptime
async def test_one_informer_per_type_started_lazily() -> None:
    _, cache = fake_cluster()
    async with started(cache):
        assert cache.get_informer(WIDGETS) is cache.get_informer(WIDGETS)
        await cache.list(GADGETS)
        await cache.wait_for_cache_sync()
        assert cache.has_synced()


@pytest.mark.looptime
async def test_missing_object_raises_not_found() -> None:
    _, cache = fake_cluster()
    async with started(cache):
        with pytest.raises(NotFound) as info:
            await cache.get(WIDGETS, "nope", namespace="a")
        assert is_not_found(info.value)


async def test_reading_a_stopped_cache_raises() -> None:
    _, cache = fake_cluster()
    with pytest.raises(CacheNotStartedError):
        await cache.get(WIDGETS, "w1", namespace="a")


@pytest.mark.looptime
async def test_list_by_namespace_and_label_selector() -> None:
    fakes, cache = fake_cluster()
    async with started(cache):
        names = lambda result: sorted(o["metadata"]["name"] for o in result.items)  # noqa: E731
        assert names(await cache.list(WIDGETS)) == ["w1", "w2"]
        assert names(await cache.list(WIDGETS, namespace="b")) == ["w2"]
        assert names(await cache.list(WIDGETS, label_selector="tier=edge")) == ["w1"]
        assert names(await cache.list(WIDGETS, label_selector={"tier": "core"})) == ["w2"]
        result = await cache.list(WIDGETS)
        assert result.resource_version == fakes["widgets"].resource_version


@pytest.mark.looptime
async def test_cache_follows_watch_events_and_custom_indexes() -> None:
    fakes, cache = fake_cluster()
    cache.add_indexers(
        WIDGETS, {"tier": lambda o: [o["metadata"].get("labels", {}).get("tier", "")]}
    )
    async with started(cache):
        await cache.wait_for_cache_sync()
        fakes["widgets"].add(make_object("w3", namespace="a", labels={"tier": "edge"}))
        fakes["widgets"].delete("a/w1")
        await asyncio.sleep(0.01)
        got = await cache.by_index(WIDGETS, "tier", "edge")
        assert [o["metadata"]["name"] for o in got] == ["w3"]


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("", {}, True),
        ("a=b", {"a": "b"}, True),
        ("a==b", {"a": "c"}, False),
        ("a!=b", {}, True),
        ("a in (x, y),b", {"a": "y", "b": ""}, True),
        ("a notin (x,y)", {"a": "x"}, False),
        ("!a", {"a": "1"}, False),
        ("a,!b", {"a": "1"}, True),
    ],
)
def test_label_selector_forms(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_selector(selector)(labels) is expected


def test_label_selector_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        parse_selector("a=b=c")


def test_deep_copy_copies_nested_containers() -> None:
    src = {"a": [{"b": 1}], "c": "x"}
    dst = deep_copy(src)
    dst["a"][0]["b"] = 2
    assert src == {"a": [{"b": 1}], "c": "x"}
