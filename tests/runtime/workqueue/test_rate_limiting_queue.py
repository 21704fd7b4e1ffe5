"""RateLimitingQueue conformance: client-go util/workqueue/rate_limiting_queue_test.go.

Upstream reads each entry off the waiting channel to check its delay; we check when the
item becomes ready on looptime's virtual clock. TestNewNamedRateLimitingWithCustomQueue
is left out: it exercises the priority queue, which we do not implement.
"""

from __future__ import annotations

import asyncio

import pytest

from bgpctl.runtime.workqueue import ItemExponentialFailureRateLimiter, RateLimitingQueue

pytestmark = pytest.mark.looptime


async def _delay_of_next_rate_limited(q: RateLimitingQueue[str], item: str) -> float:
    """add_rate_limited(item), wait for it, mark it done; return how long it waited."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    q.add_rate_limited(item)
    got = await q.get()
    assert got == item
    q.done(got)
    return round(loop.time() - start, 6)


async def test_rate_limiting_queue() -> None:
    """Mirrors TestRateLimitingQueue: 1 ms, 2 ms per item; forget resets to 1 ms."""
    q: RateLimitingQueue[str] = RateLimitingQueue(ItemExponentialFailureRateLimiter(0.001, 1.0))

    assert await _delay_of_next_rate_limited(q, "one") == 0.001
    assert await _delay_of_next_rate_limited(q, "one") == 0.002
    assert q.num_requeues("one") == 2

    assert await _delay_of_next_rate_limited(q, "two") == 0.001
    assert await _delay_of_next_rate_limited(q, "two") == 0.002

    q.forget("one")
    assert q.num_requeues("one") == 0
    assert await _delay_of_next_rate_limited(q, "one") == 0.001


async def test_waiting_rate_limited_item_keeps_its_earlier_time() -> None:
    q: RateLimitingQueue[str] = RateLimitingQueue(ItemExponentialFailureRateLimiter(0.001, 1.0))
    q.add_rate_limited("one")  # 1 ms
    q.add_rate_limited("one")  # 2 ms, merged: the earlier time wins
    assert q.num_requeues("one") == 2
    assert q.num_waiting() == 1
    await q.get()
    assert asyncio.get_running_loop().time() == pytest.approx(0.001, abs=1e-6)


async def test_default_limiter_first_retry_waits_five_milliseconds() -> None:
    q: RateLimitingQueue[str] = RateLimitingQueue()
    assert await _delay_of_next_rate_limited(q, "x") == 0.005
    assert await _delay_of_next_rate_limited(q, "x") == 0.01
    assert await _delay_of_next_rate_limited(q, "x") == 0.02


async def test_forget_does_not_finish_processing() -> None:
    q: RateLimitingQueue[str] = RateLimitingQueue()
    q.add("x")
    await q.get()
    q.add("x")
    q.forget("x")
    assert len(q) == 0  # still processing: only done() releases it
    q.done("x")
    assert len(q) == 1
