"""Rate limiters: how long a failing item waits before its next attempt.

Mirrors client-go util/workqueue/default_rate_limiters.go. Every limiter answers
``when(item)`` (and records the attempt), ``num_requeues(item)`` and ``forget(item)``.
Durations are float seconds.

- ``ItemExponentialFailureRateLimiter(base, max)``: ``min(base * 2**n, max)`` where n is
  the item's failure count before this call.
- ``BucketRateLimiter(qps, burst)``: one token bucket shared by all items, as
  golang.org/x/time/rate's ``Reserve().Delay()``: reservations may drive the bucket
  negative, so the k-th call beyond the burst waits k/qps.
- ``ItemFastSlowRateLimiter(fast, slow, max_fast)``, ``MaxOfRateLimiter(*limiters)`` and
  ``WithMaxWaitRateLimiter(limiter, max_delay)``.

Upstream guards each limiter with a mutex; we need none (single-threaded asyncio).
Upstream's bucket panics or returns an infinite wait for burst 0; we reject
``burst < 1`` and ``qps <= 0`` at construction, because they can only be mistakes.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Final, Generic, Protocol, TypeVar

from bgpctl.runtime import clock

T = TypeVar("T", bound=Hashable)
T_contra = TypeVar("T_contra", bound=Hashable, contravariant=True)

DEFAULT_BASE_DELAY: Final = 0.005
"""Seconds; first retry delay of the default controller limiter."""
DEFAULT_MAX_DELAY: Final = 1000.0
"""Seconds; cap of the default controller limiter's exponential backoff."""
DEFAULT_QPS: Final = 10.0
"""Tokens per second of the default controller limiter's bucket."""
DEFAULT_BURST: Final = 100
"""Bucket size of the default controller limiter."""


class RateLimiter(Protocol[T_contra]):
    """Decides per-item retry delays."""

    def when(self, item: T_contra) -> float:
        """Record an attempt for ``item`` and return seconds to wait before it."""
        ...

    def forget(self, item: T_contra) -> None:
        """Stop tracking ``item`` (it succeeded or was given up)."""
        ...

    def num_requeues(self, item: T_contra) -> int:
        """Failures recorded for ``item`` since it was last forgotten."""
        ...


class ItemExponentialFailureRateLimiter(Generic[T]):
    """Per-item exponential backoff: ``base * 2**failures``, capped at ``max_delay``.

    Args:
        base_delay: Seconds before the first retry.
        max_delay: Upper bound in seconds.
    """

    def __init__(self, base_delay: float, max_delay: float) -> None:
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._failures: dict[T, int] = {}

    def when(self, item: T) -> float:
        """Return the backoff for the item's current failure count, then count one more."""
        exp = self._failures.get(item, 0)
        self._failures[item] = exp + 1
        try:
            backoff = math.ldexp(self.base_delay, exp)
        except OverflowError:
            return self.max_delay
        return min(backoff, self.max_delay)

    def num_requeues(self, item: T) -> int:
        """Failures counted for ``item``."""
        return self._failures.get(item, 0)

    def forget(self, item: T) -> None:
        """Reset ``item``'s failure count."""
        self._failures.pop(item, None)


class ItemFastSlowRateLimiter(Generic[T]):
    """``fast_delay`` for the first ``max_fast_attempts`` attempts, then ``slow_delay``.

    Args:
        fast_delay: Seconds for the early attempts.
        slow_delay: Seconds for every later attempt.
        max_fast_attempts: How many attempts get ``fast_delay``.
    """

    def __init__(self, fast_delay: float, slow_delay: float, max_fast_attempts: int) -> None:
        self.fast_delay = fast_delay
        self.slow_delay = slow_delay
        self.max_fast_attempts = max_fast_attempts
        self._failures: dict[T, int] = {}

    def when(self, item: T) -> float:
        """Count the attempt, then pick the fast or slow delay."""
        count = self._failures.get(item, 0) + 1
        self._failures[item] = count
        return self.fast_delay if count <= self.max_fast_attempts else self.slow_delay

    def num_requeues(self, item: T) -> int:
        """Attempts counted for ``item``."""
        return self._failures.get(item, 0)

    def forget(self, item: T) -> None:
        """Reset ``item``'s attempt count."""
        self._failures.pop(item, None)


class BucketRateLimiter:
    """A token bucket shared by all items (overall rate limit, not per item).

    Starts full. Each ``when`` reserves one token and returns how long until it exists.

    Args:
        qps: Refill rate in tokens per second (> 0).
        burst: Bucket size (>= 1).

    Raises:
        ValueError: ``qps <= 0`` or ``burst < 1``.
    """

    def __init__(self, qps: float, burst: int) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError(f"bucket needs qps > 0 and burst >= 1, got {qps=} {burst=}")
        self.qps = qps
        self.burst = burst
        self._tokens = float(burst)
        self._last: float | None = None

    def when(self, item: object) -> float:
        """Reserve a token; return seconds until it is available (0 within the burst)."""
        at = clock.now()
        tokens = self._tokens
        if self._last is not None:
            # As x/time/rate: time going backwards counts as no time passing.
            elapsed = max(0.0, at - self._last)
            tokens = min(float(self.burst), tokens + elapsed * self.qps)
        tokens -= 1.0
        self._tokens = tokens
        self._last = at
        return -tokens / self.qps if tokens < 0 else 0.0

    def num_requeues(self, item: object) -> int:
        """Always 0: the bucket does not track items."""
        return 0

    def forget(self, item: object) -> None:
        """Nothing to forget."""


class MaxOfRateLimiter(Generic[T]):
    """The longest delay of several limiters; every limiter sees every attempt."""

    def __init__(self, *limiters: RateLimiter[T]) -> None:
        self.limiters = limiters

    def when(self, item: T) -> float:
        """Ask every limiter (each advances its state) and return the maximum."""
        delay = 0.0
        for limiter in self.limiters:
            delay = max(delay, limiter.when(item))
        return delay

    def num_requeues(self, item: T) -> int:
        """The highest count any limiter reports."""
        return max((limiter.num_requeues(item) for limiter in self.limiters), default=0)

    def forget(self, item: T) -> None:
        """Forget ``item`` in every limiter."""
        for limiter in self.limiters:
            limiter.forget(item)


class WithMaxWaitRateLimiter(Generic[T]):
    """Clamps another limiter's delays to ``max_delay`` seconds."""

    def __init__(self, limiter: RateLimiter[T], max_delay: float) -> None:
        self.limiter = limiter
        self.max_delay = max_delay

    def when(self, item: T) -> float:
        """The wrapped limiter's delay, at most ``max_delay``."""
        return min(self.limiter.when(item), self.max_delay)

    def num_requeues(self, item: T) -> int:
        """The wrapped limiter's count."""
        return self.limiter.num_requeues(item)

    def forget(self, item: T) -> None:
        """Forget in the wrapped limiter."""
        self.limiter.forget(item)


def default_controller_rate_limiter() -> MaxOfRateLimiter[T]:
    """The classic controller limiter: per-item 5 ms .. 1000 s backoff, overall 10/s burst 100.

    Upstream's newer priority-queue default drops the bucket; we keep the classic one.
    """
    return MaxOfRateLimiter(
        ItemExponentialFailureRateLimiter(DEFAULT_BASE_DELAY, DEFAULT_MAX_DELAY),
        BucketRateLimiter(DEFAULT_QPS, DEFAULT_BURST),
    )
