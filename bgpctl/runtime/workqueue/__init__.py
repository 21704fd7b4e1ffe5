"""Work queues and rate limiters (client-go util/workqueue), rewritten for asyncio.

``WorkQueue`` < ``DelayingQueue`` < ``RateLimitingQueue``: dedupe and per-item mutual
exclusion, then delayed adds, then per-item backoff. Metrics go through
``QueueMetricsProvider``; this package never imports prometheus_client, and it never
imports the informer cache (client-go's split).
"""

from bgpctl.runtime.workqueue.delaying import DelayingQueue
from bgpctl.runtime.workqueue.metrics import (
    CounterMetric,
    GaugeMetric,
    HistogramMetric,
    QueueMetricsProvider,
    SettableGaugeMetric,
)
from bgpctl.runtime.workqueue.queue import (
    SHUTDOWN,
    UNFINISHED_WORK_UPDATE_PERIOD,
    ShutDown,
    WorkQueue,
)
from bgpctl.runtime.workqueue.ratelimiters import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    ItemFastSlowRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    WithMaxWaitRateLimiter,
    default_controller_rate_limiter,
)
from bgpctl.runtime.workqueue.ratelimiting import RateLimitingQueue

__all__ = [
    "SHUTDOWN",
    "UNFINISHED_WORK_UPDATE_PERIOD",
    "BucketRateLimiter",
    "CounterMetric",
    "DelayingQueue",
    "GaugeMetric",
    "HistogramMetric",
    "ItemExponentialFailureRateLimiter",
    "ItemFastSlowRateLimiter",
    "MaxOfRateLimiter",
    "QueueMetricsProvider",
    "RateLimiter",
    "RateLimitingQueue",
    "SettableGaugeMetric",
    "ShutDown",
    "WithMaxWaitRateLimiter",
    "WorkQueue",
    "default_controller_rate_limiter",
]
