"""Prometheus work-queue metrics, with controller-runtime's names and labels.

Mirrors controller-runtime pkg/metrics/workqueue.go: seven families labelled ``name`` and
``controller`` (both set to the queue name, which is the controller name), latency and
work-duration buckets ``1e-8 * 10**k`` for k in 0..11. Implements the runtime's
``QueueMetricsProvider`` protocol by shape (no import of ``bgpctl.runtime``).

Upstream's depth family also carries a ``priority`` label for its priority queue; we
leave it out, because we run only the classic queue.
"""

from __future__ import annotations

from functools import cache

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from bgpctl.metrics.registry import REGISTRY

_LABELS = ("name", "controller")
_BUCKETS = tuple(1e-8 * 10**k for k in range(12))


class PrometheusQueueMetricsProvider:
    """Creates the workqueue families on ``registry`` and hands out per-queue children.

    Create one per registry: a second instance on the same registry raises ``ValueError``
    (duplicate time series).
    """

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.depth = Gauge(
            "workqueue_depth", "Current depth of workqueue", _LABELS, registry=registry
        )
        self.adds = Counter(
            "workqueue_adds_total", "Total number of adds handled by workqueue", _LABELS,
            registry=registry,
        )  # fmt: skip
        self.latency = Histogram(
            "workqueue_queue_duration_seconds",
            "How long in seconds an item stays in workqueue before being requested",
            _LABELS,
            buckets=_BUCKETS,
            registry=registry,
        )
        self.work_duration = Histogram(
            "workqueue_work_duration_seconds",
            "How long in seconds processing an item from workqueue takes",
            _LABELS,
            buckets=_BUCKETS,
            registry=registry,
        )
        self.unfinished = Gauge(
            "workqueue_unfinished_work_seconds",
            "Seconds of work in progress not yet observed by work_duration; "
            "large values indicate stuck workers",
            _LABELS,
            registry=registry,
        )
        self.longest = Gauge(
            "workqueue_longest_running_processor_seconds",
            "How many seconds the longest running processor of the workqueue has been running",
            _LABELS,
            registry=registry,
        )
        self.retries = Counter(
            "workqueue_retries_total", "Total number of retries handled by workqueue", _LABELS,
            registry=registry,
        )  # fmt: skip

    def new_depth_metric(self, name: str) -> Gauge:
        """``workqueue_depth`` child for queue ``name``."""
        return self.depth.labels(name, name)

    def new_adds_metric(self, name: str) -> Counter:
        """``workqueue_adds_total`` child for queue ``name``."""
        return self.adds.labels(name, name)

    def new_latency_metric(self, name: str) -> Histogram:
        """``workqueue_queue_duration_seconds`` child for queue ``name``."""
        return self.latency.labels(name, name)

    def new_work_duration_metric(self, name: str) -> Histogram:
        """``workqueue_work_duration_seconds`` child for queue ``name``."""
        return self.work_duration.labels(name, name)

    def new_unfinished_work_seconds_metric(self, name: str) -> Gauge:
        """``workqueue_unfinished_work_seconds`` child for queue ``name``."""
        return self.unfinished.labels(name, name)

    def new_longest_running_processor_seconds_metric(self, name: str) -> Gauge:
        """``workqueue_longest_running_processor_seconds`` child for queue ``name``."""
        return self.longest.labels(name, name)

    def new_retries_metric(self, name: str) -> Counter:
        """``workqueue_retries_total`` child for queue ``name``."""
        return self.retries.labels(name, name)


@cache
def queue_metrics_provider() -> PrometheusQueueMetricsProvider:
    """The process-wide provider on ``REGISTRY`` (created on first use)."""
    return PrometheusQueueMetricsProvider(REGISTRY)
