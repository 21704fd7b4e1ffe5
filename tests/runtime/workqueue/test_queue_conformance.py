"""WorkQueue conformance: client-go util/workqueue/queue_test.go, case by case.

Covers dedupe, re-add while processing, length, shutdown and drain. Concurrency is
asyncio tasks instead of goroutines; sleeps run on looptime's virtual clock. Leaves out
metrics (test_queue_metrics.py) and delays (test_delaying_queue.py).
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Hashable
from typing import TypeVar

import pytest

from bgpctl.runtime.workqueue import SHUTDOWN, WorkQueue

T = TypeVar("T", bound=Hashable)


async def take(q: WorkQueue[T]) -> T:
    """get() that must return an item, not SHUTDOWN."""
    item = await q.get()
    assert item is not SHUTDOWN
    return item


SHUTDOWN_MODES = [
    pytest.param("shut_down", id="shut_down"),
    pytest.param("shut_down_with_drain", id="shut_down_with_drain"),
]


async def _shut_down(q: WorkQueue[object], mode: str) -> None:
    if mode == "shut_down":
        q.shut_down()
    else:
        await q.shut_down_with_drain()


@pytest.mark.looptime
@pytest.mark.parametrize("mode", SHUTDOWN_MODES)
async def test_basic_producers_and_consumers(mode: str) -> None:
    """Mirrors TestBasic: 50 producers x 50 adds, 10 consumers, then shutdown."""
    q: WorkQueue[object] = WorkQueue()
    processed: set[object] = set()
    in_flight: set[object] = set()

    async def produce(i: int) -> None:
        for _ in range(50):
            q.add(i)
            await asyncio.sleep(0.001)

    async def consume() -> None:
        while (item := await q.get()) is not SHUTDOWN:
            assert item != "added after shutdown!"
            assert item not in in_flight
            in_flight.add(item)
            await asyncio.sleep(0.003)
            in_flight.discard(item)
            processed.add(item)
            q.done(item)

    consumers = [asyncio.create_task(consume()) for _ in range(10)]
    await asyncio.gather(*(produce(i) for i in range(50)))
    await _shut_down(q, mode)
    q.add("added after shutdown!")
    await asyncio.gather(*consumers)
    assert len(q) == 0
    assert processed == set(range(50))


@pytest.mark.looptime
@pytest.mark.parametrize("mode", SHUTDOWN_MODES)
async def test_add_while_processing(mode: str) -> None:
    """Mirrors TestAddWhileProcessing: each consumer re-adds an item it sees the first time."""
    q: WorkQueue[object] = WorkQueue()
    in_flight: set[object] = set()
    seen: set[object] = set()

    async def consume() -> None:
        counters: dict[object, int] = {}
        while (item := await q.get()) is not SHUTDOWN:
            assert item not in in_flight
            in_flight.add(item)
            await asyncio.sleep(0)
            seen.add(item)
            counters[item] = counters.get(item, 0) + 1
            if counters[item] < 2:
                q.add(item)
            in_flight.discard(item)
            q.done(item)

    consumers = [asyncio.create_task(consume()) for _ in range(10)]
    for i in range(50):
        q.add(i)
    await asyncio.sleep(0.1)  # let every item run (twice or more) before shutting down
    await _shut_down(q, mode)
    await asyncio.gather(*consumers)
    assert len(q) == 0
    assert seen == set(range(50))


def test_len() -> None:
    """Mirrors TestLen: a duplicate add does not grow the queue."""
    q: WorkQueue[str] = WorkQueue()
    q.add("foo")
    assert len(q) == 1
    q.add("bar")
    assert len(q) == 2
    q.add("foo")
    assert len(q) == 2


async def test_reinsert() -> None:
    """Mirrors TestReinsert: re-added while processing -> queued again by done."""
    q: WorkQueue[str] = WorkQueue()
    q.add("foo")
    item = await q.get()
    assert item == "foo"
    q.add("foo")
    assert len(q) == 0  # dirty, but held back while processing
    q.done("foo")
    assert len(q) == 1
    assert await q.get() == "foo"
    q.done("foo")
    assert len(q) == 0


async def test_queue_drainage_using_shut_down_with_drain() -> None:
    """Mirrors TestQueueDrainageUsingShutDownWithDrain: drain waits for done."""
    q: WorkQueue[str] = WorkQueue()
    q.add("foo")
    q.add("bar")
    first = await take(q)
    second = await take(q)
    drain = asyncio.create_task(q.shut_down_with_drain())
    await asyncio.sleep(0)
    assert await q.get() is SHUTDOWN
    assert not drain.done()
    q.done(first)
    await asyncio.sleep(0)
    assert not drain.done()
    q.done(second)
    await asyncio.wait_for(drain, timeout=1)


async def test_no_queue_drainage_using_shut_down() -> None:
    """Mirrors TestNoQueueDrainageUsingShutDown: shut_down does not wait for done."""
    q: WorkQueue[str] = WorkQueue()
    q.add("foo")
    q.add("bar")
    await q.get()
    await q.get()
    q.shut_down()
    assert q.shutting_down()
    assert await q.get() is SHUTDOWN


async def test_force_queue_shutdown_using_shut_down() -> None:
    """Mirrors TestForceQueueShutdownUsingShutDown: shut_down ends a pending drain."""
    q: WorkQueue[str] = WorkQueue()
    q.add("foo")
    q.add("bar")
    await q.get()
    await q.get()
    drain = asyncio.create_task(q.shut_down_with_drain())
    await asyncio.sleep(0)
    assert await q.get() is SHUTDOWN
    assert not drain.done()
    q.shut_down()
    await asyncio.wait_for(drain, timeout=1)


async def test_queue_drainage_using_shut_down_with_drain_with_dirty_item() -> None:
    """Mirrors TestQueueDrainageUsingShutDownWithDrainWithDirtyItem.

    An item dirtied before shutdown is queued again by done and still handed out.
    """
    q: WorkQueue[str] = WorkQueue()
    q.add("foo")
    gotten = await take(q)
    q.add("foo")
    drain = asyncio.create_task(q.shut_down_with_drain())
    await asyncio.sleep(0)
    assert await q.get() is SHUTDOWN
    q.done(gotten)
    again = await q.get()
    assert again == "foo"
    q.done(again)
    assert await q.get() is SHUTDOWN
    await asyncio.wait_for(drain, timeout=1)


class _Big:
    def __init__(self) -> None:
        self.data = b"hello"


async def test_garbage_collection() -> None:
    """Mirrors TestGarbageCollection: the queue keeps no reference after done."""
    q: WorkQueue[_Big] = WorkQueue()
    obj = _Big()
    ref = weakref.ref(obj)
    q.add(obj)
    got = await take(q)
    q.done(got)
    del obj, got
    gc.collect()
    assert ref() is None


# --- ours: asyncio-specific behaviour upstream cannot have -------------------------------


async def test_get_waits_until_an_item_is_added() -> None:
    q: WorkQueue[str] = WorkQueue()
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    assert not getter.done()
    q.add("foo")
    assert await getter == "foo"


async def test_cancelled_getter_passes_its_wakeup_on() -> None:
    q: WorkQueue[str] = WorkQueue()
    first = asyncio.create_task(q.get())
    second = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.add("foo")  # wakes `first` ...
    first.cancel()  # ... which is cancelled before it runs
    assert await second == "foo"
    assert first.cancelled()


async def test_done_of_an_item_not_processing_is_ignored() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("foo")
    q.done("foo")  # queued, not processing: upstream would queue a duplicate
    assert len(q) == 1
    assert await q.get() == "foo"
    q.done("foo")
    assert len(q) == 0


async def test_shut_down_twice_is_safe_and_add_is_ignored() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("queued")
    q.shut_down()
    q.shut_down()
    q.add("late")
    assert await q.get() == "queued"
    assert await q.get() is SHUTDOWN


async def test_shut_down_wakes_every_waiting_getter() -> None:
    q: WorkQueue[str] = WorkQueue()
    getters = [asyncio.create_task(q.get()) for _ in range(3)]
    await asyncio.sleep(0)
    q.shut_down()
    assert await asyncio.gather(*getters) == [SHUTDOWN] * 3
