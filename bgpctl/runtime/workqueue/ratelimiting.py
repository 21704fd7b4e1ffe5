"""A delaying queue that asks a rate limiter how long each re-add should wait.

Mirrors client-go util/workqueue/rate_limiting_queue.go: ``add_rate_limited(x)`` is
``add_after(x, limiter.when(x))``, ``forget(x)`` clears only the limiter's memory of
``x`` (the caller still calls ``done``), and ``num_requeues(x)`` asks the limiter.
As upstream, ``when`` is consulted (and advances the limiter) even after shutdown.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TypeVar

from bgpctl.runtime.workqueue.delaying import DelayingQueue
from bgpctl.runtime.workqueue.metrics import QueueMetricsProvider
from bgpctl.runtime.workqueue.ratelimiters import RateLimiter, default_controller_rate_limiter

T = TypeVar("T", bound=Hashable)


class RateLimitingQueue(DelayingQueue[T]):
    """A ``DelayingQueue`` with per-item backoff.

    Args:
        rate_limiter: Decides the delay of each ``add_rate_limited``; defaults to
            ``default_controller_rate_limiter()``.
        name: Queue name; metrics are kept only for named queues.
        metrics_provider: Where the queue's metrics go; ``None`` keeps none.
    """

    def __init__(
        self,
        rate_limiter: RateLimiter[T] | None = None,
        *,
        name: str = "",
        metrics_provider: QueueMetricsProvider | None = None,
    ) -> None:
        super().__init__(name=name, metrics_provider=metrics_provider)
        self.rate_limiter: RateLimiter[T] = (
            rate_limiter if rate_limiter is not None else default_controller_rate_limiter()
        )

    def add_rate_limited(self, item: T) -> None:
        """Add ``item`` after the delay the rate limiter assigns it."""
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: T) -> None:
        """Make the rate limiter forget ``item``'s failures; ``done`` is still required."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        """How many times ``item`` has been rate-limited since it was last forgotten."""
        return self.rate_limiter.num_requeues(item)
