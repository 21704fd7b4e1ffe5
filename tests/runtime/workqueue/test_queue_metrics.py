"""Queue metrics: client-go util/workqueue/metrics_test.go, plus the Prometheus provider.

A recording provider checks the exact values the queue reports on looptime's clock
(TestMetrics, TestMetricShutdown); the Prometheus provider is then checked end to end
by reading samples from a private registry. Leaves out the controller's periodic
refresh of the unfinished-work gauges (test_controller_metrics.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import TypeVar

import pytest
from prometheus_client import CollectorRegistry

from bgpctl.metrics.workqueue import PrometheusQueueMetricsProvider
from bgpctl.runtime.workqueue import SHUTDOWN, RateLimitingQueue, WorkQueue

pytestmark = pytest.mark.looptime


T = TypeVar("T", bound=Hashable)


async def take(q: WorkQueue[T]) -> T:
    """get() that must return an item, not SHUTDOWN."""
    item = await q.get()
    assert item is not SHUTDOWN
    return item


class Gauge:
    def __init__(self) -> None:
        self.value = 0.0

    def inc(self) -> None:
        self.value += 1

    def dec(self) -> None:
        self.value -= 1

    def set(self, value: float, /) -> None:
        self.value = value


class Counter:
    def __init__(self) -> None:
        self.value = 0

    def inc(self) -> None:
        self.value += 1


class Histogram:
    def __init__(self) -> None:
        self.observations: list[float] = []

    def observe(self, value: float, /) -> None:
        self.observations.append(round(value, 9))


class RecordingProvider:
    def __init__(self) -> None:
        self.names: list[str] = []
        self.depth = Gauge()
        self.adds = Counter()
        self.latency = Histogram()
        self.duration = Histogram()
        self.unfinished = Gauge()
        self.longest = Gauge()
        self.retries = Counter()

    def new_depth_metric(self, name: str) -> Gauge:
        self.names.append(name)
        return self.depth

    def new_adds_metric(self, name: str) -> Counter:
        return self.adds

    def new_latency_metric(self, name: str) -> Histogram:
        return self.latency

    def new_work_duration_metric(self, name: str) -> Histogram:
        return self.duration

    def new_unfinished_work_seconds_metric(self, name: str) -> Gauge:
        return self.unfinished

    def new_longest_running_processor_seconds_metric(self, name: str) -> Gauge:
        return self.longest

    def new_retries_metric(self, name: str) -> Counter:
        return self.retries


async def test_metrics() -> None:
    """Mirrors TestMetrics: adds, depth, queue latency, work duration, unfinished work."""
    mp = RecordingProvider()
    q: WorkQueue[str] = WorkQueue(name="test", metrics_provider=mp)
    assert mp.names == ["test"]

    q.add("foo")
    assert (mp.adds.value, mp.depth.value) == (1, 1)
    await asyncio.sleep(50e-6)
    item = await take(q)
    assert mp.depth.value == 0
    assert mp.latency.observations == [50e-6]

    await asyncio.sleep(30e-6)
    q.update_unfinished_work()
    assert mp.unfinished.value == pytest.approx(30e-6)
    assert mp.longest.value == pytest.approx(30e-6)
    q.done(item)
    assert mp.duration.observations == [30e-6]

    q.add("foo")
    q.add("bar")
    q.add("foo")  # deduplicated: not counted
    assert (mp.adds.value, mp.depth.value) == (3, 2)
    await asyncio.sleep(25e-6)
    first = await q.get()
    assert first == "foo"
    assert mp.latency.observations == [50e-6, 25e-6]

    q.add("foo")  # dirty while processing: upstream counts it in depth already
    assert (mp.adds.value, mp.depth.value) == (4, 2)
    await asyncio.sleep(10e-6)
    q.done(first)
    await q.get()  # bar
    await q.get()  # foo again, queued at the re-add
    assert mp.depth.value == 0
    assert mp.latency.observations == [50e-6, 25e-6, 35e-6, 10e-6]

    await asyncio.sleep(7e-6)
    q.update_unfinished_work()
    assert mp.unfinished.value == pytest.approx(7e-6 + 7e-6)
    assert mp.longest.value == pytest.approx(7e-6)


async def test_metric_shutdown_clears_nothing_but_rejects_adds() -> None:
    """Mirrors TestMetricShutdown: adds after shutdown are not counted."""
    mp = RecordingProvider()
    q: WorkQueue[str] = WorkQueue(name="test", metrics_provider=mp)
    q.add("foo")
    q.shut_down()
    q.add("bar")
    assert (mp.adds.value, mp.depth.value) == (1, 1)


def test_unnamed_queue_keeps_no_metrics() -> None:
    mp = RecordingProvider()
    q: WorkQueue[str] = WorkQueue(metrics_provider=mp)
    q.add("foo")
    assert mp.names == []
    assert mp.adds.value == 0


async def test_retries_count_every_add_after() -> None:
    mp = RecordingProvider()
    q: RateLimitingQueue[str] = RateLimitingQueue(name="test", metrics_provider=mp)
    q.add_after("a", 0)
    q.add_after("b", 1.0)
    q.add_rate_limited("c")
    assert mp.retries.value == 3
    q.shut_down()
    q.add_after("d", 1.0)  # ignored after shutdown, not counted
    assert mp.retries.value == 3


async def test_prometheus_provider_exports_real_samples() -> None:
    registry = CollectorRegistry()
    q: RateLimitingQueue[str] = RateLimitingQueue(
        name="session", metrics_provider=PrometheusQueueMetricsProvider(registry)
    )
    labels = {"name": "session", "controller": "session"}

    def sample(name: str) -> float | None:
        return registry.get_sample_value(name, labels)

    q.add("a")
    q.add("b")
    q.add_after("c", 0.5)
    assert sample("workqueue_adds_total") == 2
    assert sample("workqueue_depth") == 2
    assert sample("workqueue_retries_total") == 1

    await asyncio.sleep(0.25)
    item = await take(q)
    assert sample("workqueue_depth") == 1
    assert sample("workqueue_queue_duration_seconds_count") == 1
    assert sample("workqueue_queue_duration_seconds_sum") == pytest.approx(0.25)

    await asyncio.sleep(2.0)  # c became ready at 0.5 s
    assert sample("workqueue_adds_total") == 3
    q.update_unfinished_work()
    assert sample("workqueue_unfinished_work_seconds") == pytest.approx(2.0)
    assert sample("workqueue_longest_running_processor_seconds") == pytest.approx(2.0)
    q.done(item)
    assert sample("workqueue_work_duration_seconds_count") == 1
    assert sample("workqueue_work_duration_seconds_sum") == pytest.approx(2.0)
    # 2.0 s falls in the 1e1 bucket (upstream buckets 1e-8 .. 1e3), not in 1e0.
    bucket = registry.get_sample_value(
        "workqueue_work_duration_seconds_bucket", {**labels, "le": "1.0"}
    )
    assert bucket == 0
    q.update_unfinished_work()
    assert sample("workqueue_unfinished_work_seconds") == 0
