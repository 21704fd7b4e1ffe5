"""Rate limiters: client-go util/workqueue/default_rate_limiters_test.go, case by case.

Plus our own cases for the token bucket (on looptime's virtual clock) and the classic
controller default. Limiters are synchronous, so no event loop is involved.
"""

from __future__ import annotations

import asyncio

import pytest

from bgpctl.runtime.workqueue import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    ItemFastSlowRateLimiter,
    MaxOfRateLimiter,
    WithMaxWaitRateLimiter,
    default_controller_rate_limiter,
)

MS = 0.001


def test_item_exponential_failure_rate_limiter() -> None:
    """Mirrors TestItemExponentialFailureRateLimiter."""
    limiter: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter(MS, 1.0)
    assert [limiter.when("one") for _ in range(5)] == [MS, 2 * MS, 4 * MS, 8 * MS, 16 * MS]
    assert limiter.num_requeues("one") == 5
    assert [limiter.when("two") for _ in range(2)] == [MS, 2 * MS]
    assert limiter.num_requeues("two") == 2
    limiter.forget("one")
    assert limiter.num_requeues("one") == 0
    assert limiter.when("one") == MS


def test_item_exponential_failure_rate_limiter_overflow() -> None:
    """Mirrors TestItemExponentialFailureRateLimiterOverFlow: huge counts cap, never raise."""
    limiter: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter(MS, 1000.0)
    for _ in range(5):
        limiter.when("one")
    assert limiter.when("one") == 32 * MS
    for _ in range(1000):
        limiter.when("overflow1")
    assert limiter.when("overflow1") == 1000.0

    limiter = ItemExponentialFailureRateLimiter(60.0, 1000 * 3600.0)
    for _ in range(2):
        limiter.when("two")
    assert limiter.when("two") == 4 * 60.0
    for _ in range(1000):
        limiter.when("overflow2")
    assert limiter.when("overflow2") == 1000 * 3600.0


def test_item_fast_slow_rate_limiter() -> None:
    """Mirrors TestItemFastSlowRateLimiter."""
    limiter: ItemFastSlowRateLimiter[str] = ItemFastSlowRateLimiter(5 * MS, 10.0, 3)
    assert [limiter.when("one") for _ in range(5)] == [5 * MS, 5 * MS, 5 * MS, 10.0, 10.0]
    assert limiter.num_requeues("one") == 5
    assert [limiter.when("two") for _ in range(2)] == [5 * MS, 5 * MS]
    assert limiter.num_requeues("two") == 2
    limiter.forget("one")
    assert limiter.num_requeues("one") == 0
    assert limiter.when("one") == 5 * MS


def test_max_of_rate_limiter() -> None:
    """Mirrors TestMaxOfRateLimiter."""
    limiter: MaxOfRateLimiter[str] = MaxOfRateLimiter(
        ItemFastSlowRateLimiter(5 * MS, 3.0, 3),
        ItemExponentialFailureRateLimiter(MS, 1.0),
    )
    assert [limiter.when("one") for _ in range(5)] == [5 * MS, 5 * MS, 5 * MS, 3.0, 3.0]
    assert limiter.num_requeues("one") == 5
    assert [limiter.when("two") for _ in range(2)] == [5 * MS, 5 * MS]
    assert limiter.num_requeues("two") == 2
    limiter.forget("one")
    assert limiter.num_requeues("one") == 0
    assert limiter.when("one") == 5 * MS


class StepLimiter:
    """Upstream's test-only StepRateLimiter: base delay up to a threshold, then max."""

    def __init__(self, base: float, maximum: float, threshold: int) -> None:
        self.base, self.maximum, self.threshold, self.count = base, maximum, threshold, 0

    def when(self, item: object) -> float:
        self.count += 1
        return self.base if self.count <= self.threshold else self.maximum

    def num_requeues(self, item: object) -> int:
        return 0

    def forget(self, item: object) -> None:
        pass


def test_with_max_wait_rate_limiter() -> None:
    """Mirrors TestWithMaxWaitRateLimiter: delays above the cap are clamped to it."""
    limiter: WithMaxWaitRateLimiter[int] = WithMaxWaitRateLimiter(
        StepLimiter(5 * MS, 1000.0, 100), 500.0
    )
    assert all(limiter.when(i) == 5 * MS for i in range(100))
    assert all(limiter.when(i) == 500.0 for i in range(100, 200))


# --- ours: the token bucket and the controller default -----------------------------------


@pytest.mark.looptime
async def test_bucket_allows_burst_then_spaces_by_rate() -> None:
    bucket = BucketRateLimiter(10.0, 100)
    assert [bucket.when(i) for i in range(100)] == [0.0] * 100
    assert bucket.when("101st") == pytest.approx(0.1)
    assert bucket.when("102nd") == pytest.approx(0.2)
    assert bucket.num_requeues("x") == 0


@pytest.mark.looptime
async def test_bucket_refills_at_its_rate_up_to_burst() -> None:
    bucket = BucketRateLimiter(10.0, 100)
    for i in range(100):
        bucket.when(i)
    await asyncio.sleep(1.0)  # ten tokens back
    assert [bucket.when(i) for i in range(10)] == [0.0] * 10
    assert bucket.when("next") == pytest.approx(0.1)
    await asyncio.sleep(3600.0)  # refills to the burst, not beyond
    assert all(bucket.when(i) == 0.0 for i in range(100))
    assert bucket.when("over") == pytest.approx(0.1)


@pytest.mark.looptime
async def test_bucket_reservations_in_debt_are_repaid_by_time() -> None:
    bucket = BucketRateLimiter(10.0, 1)
    assert bucket.when("a") == 0.0
    assert bucket.when("b") == pytest.approx(0.1)
    assert bucket.when("c") == pytest.approx(0.2)
    await asyncio.sleep(0.2)  # the two reserved tokens are now paid for
    assert bucket.when("d") == pytest.approx(0.1)


@pytest.mark.parametrize(("qps", "burst"), [(0.0, 1), (-1.0, 1), (10.0, 0)])
def test_bucket_rejects_nonsense(qps: float, burst: int) -> None:
    with pytest.raises(ValueError, match="qps"):
        BucketRateLimiter(qps, burst)


@pytest.mark.looptime
async def test_default_controller_limiter_backoff_reaches_cap_at_nineteenth_failure() -> None:
    limiter: MaxOfRateLimiter[str] = default_controller_rate_limiter()
    delays = [limiter.when("item") for _ in range(19)]
    assert delays[:18] == [0.005 * 2**n for n in range(18)]
    assert delays[17] < 1000.0
    assert delays[18] == 1000.0
    assert limiter.num_requeues("item") == 19
    limiter.forget("item")
    assert limiter.num_requeues("item") == 0


@pytest.mark.looptime
async def test_default_controller_limiter_bucket_exhausts_after_one_hundred_items() -> None:
    limiter: MaxOfRateLimiter[int] = default_controller_rate_limiter()
    assert [limiter.when(i) for i in range(100)] == [0.005] * 100
    assert limiter.when(100) == pytest.approx(0.1)
    assert limiter.when(101) == pytest.approx(0.2)
