"""Controller and work-queue metrics as exported by the Prometheus providers.

Reads real samples from a private ``CollectorRegistry``: series initialised at start,
active workers during a reconcile, the queue gauges refreshed every 0.5 s by the
controller, and the name/controller labels. Leaves out per-outcome counting
(test_controller_dispatch.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry

from bgpctl.metrics import (
    PrometheusControllerMetricsProvider,
    PrometheusQueueMetricsProvider,
    new_registry,
)
from bgpctl.runtime.controller import Controller, ControllerOptions
from bgpctl.runtime.reconcile import Request, Result

pytestmark = [pytest.mark.usefixtures("quiet_logs"), pytest.mark.looptime]


class Sleeper:
    def __init__(self, duration: float) -> None:
        self.duration = duration

    async def reconcile(self, request: Request) -> Result:
        await asyncio.sleep(self.duration)
        return Result()


def make(registry: CollectorRegistry, duration: float, workers: int = 3) -> Controller:
    return Controller(
        "session",
        Sleeper(duration),
        options=ControllerOptions(
            max_concurrent_reconciles=workers,
            metrics=PrometheusControllerMetricsProvider(registry),
            queue_metrics=PrometheusQueueMetricsProvider(registry),
        ),
    )


@contextlib.asynccontextmanager
async def running(controller: Controller) -> AsyncIterator[None]:
    task = asyncio.create_task(controller.start())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_series_exist_from_start() -> None:
    registry = CollectorRegistry()
    controller = make(registry, 0.0)
    ctl = {"controller": "session"}
    assert registry.get_sample_value("controller_runtime_max_concurrent_reconciles", ctl) is None
    async with running(controller):
        await asyncio.sleep(0.1)
        assert registry.get_sample_value("controller_runtime_max_concurrent_reconciles", ctl) == 3
        assert registry.get_sample_value("controller_runtime_active_workers", ctl) == 0
        for result in ("success", "error", "requeue_after", "requeue"):
            sample = registry.get_sample_value(
                "controller_runtime_reconcile_total", {**ctl, "result": result}
            )
            assert sample == 0, result
        for name in (
            "controller_runtime_reconcile_errors_total",
            "controller_runtime_terminal_reconcile_errors_total",
            "controller_runtime_reconcile_timeouts_total",
            "controller_runtime_reconcile_time_seconds_count",
        ):
            assert registry.get_sample_value(name, ctl) == 0, name


async def test_active_workers_and_queue_gauges_follow_the_work() -> None:
    registry = CollectorRegistry()
    controller = make(registry, 2.0)
    ctl = {"controller": "session"}
    queue_labels = {"name": "session", "controller": "session"}

    def q(name: str) -> float | None:
        return registry.get_sample_value(name, queue_labels)

    controller.queue.add(Request(name="a"))
    controller.queue.add(Request(name="b"))
    async with running(controller):
        await asyncio.sleep(1.25)
        assert registry.get_sample_value("controller_runtime_active_workers", ctl) == 2
        assert q("workqueue_depth") == 0
        assert q("workqueue_adds_total") == 2
        # Refreshed at 0.5 s and 1.0 s; at 1.25 s the gauges still show the 1.0 s values.
        assert q("workqueue_unfinished_work_seconds") == pytest.approx(2.0)
        assert q("workqueue_longest_running_processor_seconds") == pytest.approx(1.0)
        await asyncio.sleep(1.0)
        assert registry.get_sample_value("controller_runtime_active_workers", ctl) == 0
        assert q("workqueue_unfinished_work_seconds") == 0
        assert q("workqueue_work_duration_seconds_sum") == pytest.approx(4.0)
    assert (
        registry.get_sample_value(
            "controller_runtime_reconcile_total", {**ctl, "result": "success"}
        )
        == 2
    )
    assert registry.get_sample_value(
        "controller_runtime_reconcile_time_seconds_sum", ctl
    ) == pytest.approx(4.0)
    bucket = registry.get_sample_value(
        "controller_runtime_reconcile_time_seconds_bucket", {**ctl, "le": "2.0"}
    )
    assert bucket == 2


def test_process_registry_carries_process_collectors() -> None:
    registry = new_registry()
    names = {m.name for m in registry.collect()}
    assert {"process_cpu_seconds", "python_info", "python_gc_objects_collected"} <= names


def test_one_provider_per_registry() -> None:
    registry = CollectorRegistry()
    PrometheusQueueMetricsProvider(registry)
    with pytest.raises(ValueError, match="Duplicated"):
        PrometheusQueueMetricsProvider(registry)
