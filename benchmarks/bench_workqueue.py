"""Work-queue and controller dispatch throughput.

Run: ``python benchmarks/bench_workqueue.py [N]`` (default 100 000 items). Prints items
per second for add, get+done, and the full cycle, with and without Prometheus metrics,
and the controller's reconcile dispatch rate with a no-op reconciler. Numbers only: no
thresholds here (targets belong to the reader, not to timed tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time

import structlog
from prometheus_client import CollectorRegistry

from bgpctl.metrics import PrometheusControllerMetricsProvider, PrometheusQueueMetricsProvider
from bgpctl.runtime.controller import Controller, ControllerOptions
from bgpctl.runtime.reconcile import Request, Result
from bgpctl.runtime.workqueue import RateLimitingQueue, WorkQueue


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>12,.0f} items/s"


async def bench_queue(label: str, q: WorkQueue[int], n: int) -> None:
    t0 = time.perf_counter()
    for i in range(n):
        q.add(i)
    t1 = time.perf_counter()
    for _ in range(n):
        item = await q.get()
        q.done(item)  # type: ignore[arg-type]
    t2 = time.perf_counter()
    assert len(q) == 0
    print(
        f"{label:<40} add {rate(n, t1 - t0)}   get+done {rate(n, t2 - t1)}"
        f"   cycle {rate(n, t2 - t0)}"
    )


async def bench_dedupe(n: int) -> None:
    q: WorkQueue[int] = WorkQueue()
    t0 = time.perf_counter()
    for i in range(n):
        q.add(i % 100)
    t1 = time.perf_counter()
    print(f"{'WorkQueue add, 100 distinct keys (dedupe)':<40} add {rate(n, t1 - t0)}")


class NoOp:
    def __init__(self, n: int) -> None:
        self.n = n
        self.count = 0
        self.finished = asyncio.Event()

    async def reconcile(self, request: Request) -> Result:
        self.count += 1
        if self.count == self.n:
            self.finished.set()
        return Result()


async def bench_controller(n: int, workers: int, *, metrics: bool) -> None:
    registry = CollectorRegistry()
    options = ControllerOptions(
        max_concurrent_reconciles=workers,
        metrics=PrometheusControllerMetricsProvider(registry) if metrics else None,
        queue_metrics=PrometheusQueueMetricsProvider(registry) if metrics else None,
    )
    reconciler = NoOp(n)
    controller = Controller("bench", reconciler, options=options)
    for i in range(n):
        controller.queue.add(Request(name=f"obj-{i}"))
    t0 = time.perf_counter()
    task = asyncio.create_task(controller.start())
    await reconciler.finished.wait()
    t1 = time.perf_counter()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    label = f"Controller dispatch, {workers} worker(s)" + (", metrics" if metrics else "")
    print(f"{label:<40} {rate(n, t1 - t0)}")


async def main(n: int) -> None:
    print(f"python {sys.version.split()[0]}, N = {n:,}")
    await bench_queue("WorkQueue", WorkQueue(), n)
    await bench_queue("RateLimitingQueue", RateLimitingQueue(), n)
    await bench_queue(
        "RateLimitingQueue + prometheus metrics",
        RateLimitingQueue(
            name="bench", metrics_provider=PrometheusQueueMetricsProvider(CollectorRegistry())
        ),
        n,
    )
    await bench_dedupe(n)
    for workers in (1, 4):
        await bench_controller(n, workers, metrics=False)
    await bench_controller(n, 4, metrics=True)


if __name__ == "__main__":
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
