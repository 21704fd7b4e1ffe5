"""DelayingQueue conformance: client-go util/workqueue/delaying_queue_test.go, case by case.

Upstream steps a fake clock and polls the channel that feeds its waiting loop; we run on
looptime's virtual clock and assert the exact moment items become ready. Upstream's
heartbeat is gone (see delaying.py), so "step past the heartbeat" only checks that
nothing spurious appears. Leaves out the AddAfter benchmark (benchmarks/).
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import TypeVar

import pytest

from bgpctl.runtime.workqueue import SHUTDOWN, DelayingQueue, WorkQueue

pytestmark = pytest.mark.looptime


T = TypeVar("T", bound=Hashable)


async def take(q: WorkQueue[T]) -> T:
    """get() that must return an item, not SHUTDOWN."""
    item = await q.get()
    assert item is not SHUTDOWN
    return item


def _now() -> float:
    return asyncio.get_running_loop().time()


async def _sleep_until(t: float) -> None:
    await asyncio.sleep(t - _now())


async def test_simple_queue() -> None:
    """Mirrors TestSimpleQueue: ready after the delay, nothing more after 10 s."""
    q: DelayingQueue[str] = DelayingQueue()
    q.add_after("foo", 0.05)
    assert q.num_waiting() == 1
    assert len(q) == 0

    await _sleep_until(0.049)
    assert len(q) == 0
    await _sleep_until(0.06)
    assert len(q) == 1
    assert q.num_waiting() == 0
    q.done(await take(q))

    await asyncio.sleep(10)  # upstream: "step past the next heartbeat"
    assert len(q) == 0


async def test_item_becomes_ready_exactly_at_its_time() -> None:
    q: DelayingQueue[str] = DelayingQueue()
    q.add_after("foo", 0.05)
    assert await q.get() == "foo"
    assert _now() == pytest.approx(0.05, abs=1e-6)
    q.shut_down()


async def test_deduping() -> None:
    """Mirrors TestDeduping: a second add_after only ever moves the ready time earlier."""
    q: DelayingQueue[str] = DelayingQueue()
    q.add_after("foo", 0.05)
    q.add_after("foo", 0.07)
    assert q.num_waiting() == 1
    assert len(q) == 0

    await _sleep_until(0.06)  # past the first (earlier) time
    assert len(q) == 1
    assert q.num_waiting() == 0
    q.done(await take(q))

    await _sleep_until(0.08)  # past the later time: nothing, it was merged
    assert len(q) == 0

    start = _now()
    q.add_after("foo", 0.05)
    q.add_after("foo", 0.03)  # earlier overrides
    assert q.num_waiting() == 1
    await _sleep_until(start + 0.02)
    assert len(q) == 0
    await _sleep_until(start + 0.04)
    assert len(q) == 1
    assert q.num_waiting() == 0
    q.done(await take(q))

    await _sleep_until(start + 0.06)  # past the superseded time
    assert len(q) == 0


async def test_add_two_fire_early() -> None:
    """Mirrors TestAddTwoFireEarly: a later, shorter delay fires first; re-arming works."""
    q: DelayingQueue[str] = DelayingQueue()
    q.add_after("foo", 1.0)
    q.add_after("bar", 0.05)
    assert q.num_waiting() == 2
    assert len(q) == 0

    await _sleep_until(0.06)
    assert len(q) == 1
    assert q.num_waiting() == 1
    assert await q.get() == "bar"

    q.add_after("baz", 2.0)  # ready at 2.06
    await _sleep_until(1.06)
    assert len(q) == 1
    assert q.num_waiting() == 1
    assert await q.get() == "foo"

    await _sleep_until(2.06)
    assert len(q) == 1
    assert q.num_waiting() == 0
    assert await q.get() == "baz"


async def test_copy_shifting() -> None:
    """Mirrors TestCopyShifting: items come out in ready-time order, not insertion order."""
    q: DelayingQueue[str] = DelayingQueue()
    q.add_after("foo", 1.0)
    q.add_after("bar", 0.5)
    q.add_after("baz", 0.25)
    assert q.num_waiting() == 3
    assert len(q) == 0

    await asyncio.sleep(2)
    assert len(q) == 3
    assert q.num_waiting() == 0
    assert [await q.get() for _ in range(3)] == ["baz", "bar", "foo"]


# --- ours ---------------------------------------------------------------------------------


async def test_non_positive_delay_adds_at_once() -> None:
    q: DelayingQueue[str] = DelayingQueue()
    q.add_after("zero", 0)
    q.add_after("negative", -1)
    assert len(q) == 2
    assert q.num_waiting() == 0


async def test_ready_item_is_deduplicated_with_the_queued_one() -> None:
    q: DelayingQueue[str] = DelayingQueue()
    q.add("foo")
    q.add_after("foo", 0.01)
    await asyncio.sleep(0.02)
    assert len(q) == 1


async def test_ready_item_waits_while_processing() -> None:
    q: DelayingQueue[str] = DelayingQueue()
    q.add("foo")
    assert await q.get() == "foo"
    q.add_after("foo", 0.01)
    await asyncio.sleep(0.02)
    assert len(q) == 0  # dirty, held back until done
    q.done("foo")
    assert len(q) == 1


async def test_shut_down_drops_waiting_items_and_ignores_add_after() -> None:
    q: DelayingQueue[str] = DelayingQueue()
    q.add_after("foo", 0.01)
    q.shut_down()
    assert q.num_waiting() == 0
    q.add_after("bar", 0.01)
    q.add_after("baz", 0)
    await asyncio.sleep(1)
    assert len(q) == 0
    assert q.num_waiting() == 0


async def test_many_items_fire_in_order_of_time_then_insertion() -> None:
    q: DelayingQueue[int] = DelayingQueue()
    for i in range(10):
        q.add_after(i, 0.1 if i % 2 else 0.05)
    await asyncio.sleep(0.2)
    assert [await q.get() for _ in range(10)] == [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]
