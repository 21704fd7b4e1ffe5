"""Queue metrics: the provider seam and the per-queue bookkeeping behind it.

Mirrors client-go util/workqueue/metrics.go: a ``QueueMetricsProvider`` hands out one
metric per family for a queue name (``workqueue_depth``, ``workqueue_adds_total``,
``workqueue_queue_duration_seconds``, ``workqueue_work_duration_seconds``,
``workqueue_unfinished_work_seconds``, ``workqueue_longest_running_processor_seconds``,
``workqueue_retries_total``), and ``QueueMetrics`` records add/get/done times per item.
A queue without a name, or without a provider, keeps no metrics at all.

Upstream: a process-global provider is installed with ``SetProvider``; we pass the
provider explicitly to each queue, because hidden globals make tests order-dependent.
The runtime never imports prometheus_client: ``bgpctl.metrics.workqueue`` implements these
protocols by shape.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, Protocol, TypeVar

from bgpctl.runtime import clock

T = TypeVar("T", bound=Hashable)


class GaugeMetric(Protocol):
    """A gauge that moves by one."""

    def inc(self) -> None:
        """Add one."""
        ...

    def dec(self) -> None:
        """Subtract one."""
        ...


class SettableGaugeMetric(Protocol):
    """A gauge set to an absolute value."""

    def set(self, value: float, /) -> None:
        """Set the value."""
        ...


class CounterMetric(Protocol):
    """A monotonically increasing counter."""

    def inc(self) -> None:
        """Add one."""
        ...


class HistogramMetric(Protocol):
    """A distribution of observed values (seconds, for the queue)."""

    def observe(self, value: float, /) -> None:
        """Record one observation."""
        ...


class QueueMetricsProvider(Protocol):
    """Creates the metrics of one named queue; each method is called once per queue."""

    def new_depth_metric(self, name: str) -> GaugeMetric:
        """``workqueue_depth``: items waiting to be handed out."""
        ...

    def new_adds_metric(self, name: str) -> CounterMetric:
        """``workqueue_adds_total``: adds that were not deduplicated."""
        ...

    def new_latency_metric(self, name: str) -> HistogramMetric:
        """``workqueue_queue_duration_seconds``: time from add to get."""
        ...

    def new_work_duration_metric(self, name: str) -> HistogramMetric:
        """``workqueue_work_duration_seconds``: time from get to done."""
        ...

    def new_unfinished_work_seconds_metric(self, name: str) -> SettableGaugeMetric:
        """``workqueue_unfinished_work_seconds``: summed age of in-flight items."""
        ...

    def new_longest_running_processor_seconds_metric(self, name: str) -> SettableGaugeMetric:
        """``workqueue_longest_running_processor_seconds``: age of the oldest in-flight item."""
        ...

    def new_retries_metric(self, name: str) -> CounterMetric:
        """``workqueue_retries_total``: calls to ``add_after`` (rate-limited or not)."""
        ...


class QueueMetrics(Generic[T]):
    """Per-item timing for one named queue (client-go ``defaultQueueMetrics``).

    ``depth`` follows upstream exactly: it rises when an item becomes dirty, even if that
    item is still being processed and so not yet in the queue, and falls on ``get``.
    """

    def __init__(self, name: str, provider: QueueMetricsProvider) -> None:
        self._depth = provider.new_depth_metric(name)
        self._adds = provider.new_adds_metric(name)
        self._latency = provider.new_latency_metric(name)
        self._work_duration = provider.new_work_duration_metric(name)
        self._unfinished = provider.new_unfinished_work_seconds_metric(name)
        self._longest = provider.new_longest_running_processor_seconds_metric(name)
        self._retries = provider.new_retries_metric(name)
        self._add_times: dict[T, float] = {}
        self._processing_start_times: dict[T, float] = {}

    def add(self, item: T) -> None:
        """An item became dirty."""
        self._adds.inc()
        self._depth.inc()
        if item not in self._add_times:
            self._add_times[item] = clock.now()

    def get(self, item: T) -> None:
        """An item was handed to a worker."""
        at = clock.now()
        self._depth.dec()
        self._processing_start_times[item] = at
        added = self._add_times.pop(item, None)
        if added is not None:
            self._latency.observe(at - added)

    def done(self, item: T) -> None:
        """A worker finished an item."""
        started = self._processing_start_times.pop(item, None)
        if started is not None:
            self._work_duration.observe(clock.now() - started)

    def retry(self) -> None:
        """``add_after`` was called."""
        self._retries.inc()

    def update_unfinished_work(self) -> None:
        """Refresh the two in-flight gauges from the processing start times."""
        at = clock.now()
        total = 0.0
        oldest = 0.0
        for started in self._processing_start_times.values():
            age = at - started
            total += age
            oldest = max(oldest, age)
        self._unfinished.set(total)
        self._longest.set(oldest)


def new_queue_metrics(name: str, provider: QueueMetricsProvider | None) -> QueueMetrics[T] | None:
    """Metrics for a queue, or ``None`` when it has no name or no provider (upstream rule)."""
    if not name or provider is None:
        return None
    return QueueMetrics(name, provider)
