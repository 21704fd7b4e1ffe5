"""Controller dispatch table (§E4): what each reconcile outcome does to the queue.

Each test scripts a reconciler's outcomes and asserts the exact virtual times of the
following reconciles, ``num_requeues`` and the Prometheus samples. Also covers the
per-reconcile timeout and the structlog context bound around each reconcile. Leaves out
startup, shutdown and concurrency (test_controller_lifecycle.py,
test_controller_concurrency.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
import structlog
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from bgpctl.metrics.controller import PrometheusControllerMetricsProvider
from bgpctl.runtime.client.errors import Conflict
from bgpctl.runtime.controller import Controller, ControllerOptions
from bgpctl.runtime.reconcile import Request, Result, TerminalError

pytestmark = [pytest.mark.usefixtures("quiet_logs"), pytest.mark.looptime]

REQ = Request(name="peer-a")

Outcome = Result | Exception | float  # a float means: sleep that long, then Result()


class Scripted:
    """Plays back outcomes in order; records (loop time, num_requeues) per call."""

    def __init__(self, *outcomes: Outcome) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[float, int]] = []
        self.controller: Controller | None = None

    async def reconcile(self, request: Request) -> Result:
        assert self.controller is not None
        loop = asyncio.get_running_loop()
        self.calls.append((round(loop.time(), 6), self.controller.queue.num_requeues(request)))
        outcome = self.outcomes.pop(0) if self.outcomes else Result()
        if isinstance(outcome, Exception):
            raise outcome
        if isinstance(outcome, float):
            await asyncio.sleep(outcome)
            return Result()
        return outcome


def make(reconciler: Scripted, registry: CollectorRegistry, **options: object) -> Controller:
    controller = Controller(
        "ctl",
        reconciler,
        options=ControllerOptions(
            metrics=PrometheusControllerMetricsProvider(registry),
            **options,  # type: ignore[arg-type]
        ),
    )
    reconciler.controller = controller
    return controller


@contextlib.asynccontextmanager
async def running(controller: Controller) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(controller.start())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def total(registry: CollectorRegistry, result: str) -> float | None:
    return registry.get_sample_value(
        "controller_runtime_reconcile_total", {"controller": "ctl", "result": result}
    )


def counter(registry: CollectorRegistry, name: str) -> float | None:
    return registry.get_sample_value(name, {"controller": "ctl"})


async def test_errors_back_off_exponentially_and_success_forgets() -> None:
    registry = CollectorRegistry()
    rec = Scripted(RuntimeError("a"), RuntimeError("b"), Result())
    controller = make(rec, registry)
    controller.queue.add(REQ)
    async with running(controller):
        await asyncio.sleep(10)
    assert rec.calls == [(0.0, 0), (0.005, 1), (0.015, 2)]
    assert controller.queue.num_requeues(REQ) == 0
    assert total(registry, "error") == 2
    assert total(registry, "success") == 1
    assert counter(registry, "controller_runtime_reconcile_errors_total") == 2
    assert counter(registry, "controller_runtime_terminal_reconcile_errors_total") == 0


async def test_terminal_error_is_not_requeued_and_not_forgotten() -> None:
    registry = CollectorRegistry()
    rec = Scripted(RuntimeError("transient"), TerminalError("bad spec"), RuntimeError("again"))
    controller = make(rec, registry)
    controller.queue.add(REQ)
    async with running(controller):
        await asyncio.sleep(100)
        assert rec.calls == [(0.0, 0), (0.005, 1)]  # no retry after the terminal error
        assert controller.queue.num_requeues(REQ) == 1  # upstream does not forget
        controller.queue.add(REQ)  # a new event
        await asyncio.sleep(10)
    # The failure count survived the terminal error, so the next backoff is 10 ms.
    assert rec.calls == [(0.0, 0), (0.005, 1), (100.0, 1), (100.01, 2)]
    assert total(registry, "error") == 3
    assert counter(registry, "controller_runtime_reconcile_errors_total") == 3
    assert counter(registry, "controller_runtime_terminal_reconcile_errors_total") == 1


async def test_requeue_after_forgets_then_adds_after() -> None:
    registry = CollectorRegistry()
    rec = Scripted(RuntimeError("x"), Result(requeue_after=30.0), Result())
    controller = make(rec, registry)
    controller.queue.add(REQ)
    async with running(controller):
        await asyncio.sleep(100)
    assert rec.calls == [(0.0, 0), (0.005, 1), (30.005, 0)]
    assert total(registry, "requeue_after") == 1
    assert total(registry, "success") == 1
    assert total(registry, "requeue") == 0


async def test_requeue_after_does_not_delay_an_earlier_event() -> None:
    registry = CollectorRegistry()
    rec = Scripted(Result(requeue_after=30.0), Result(), Result())
    controller = make(rec, registry)
    controller.queue.add(REQ)
    async with running(controller):
        await asyncio.sleep(5)
        controller.queue.add(REQ)
        await asyncio.sleep(100)
    assert [t for t, _ in rec.calls] == [0.0, 5.0, 30.0]


@pytest.mark.parametrize("requeue_after", [0.0, -1.0], ids=["zero", "negative"])
async def test_non_positive_requeue_after_is_plain_success(requeue_after: float) -> None:
    registry = CollectorRegistry()
    rec = Scripted(Result(requeue_after=requeue_after))
    controller = make(rec, registry)
    controller.queue.add(REQ)
    async with running(controller):
        await asyncio.sleep(10)
    assert len(rec.calls) == 1
    assert total(registry, "success") == 1


async def test_reconcile_time_is_observed_for_every_outcome() -> None:
    registry = CollectorRegistry()
    rec = Scripted(0.25, RuntimeError("x"))
    controller = make(rec, registry)
    controller.queue.add(REQ)
    controller.queue.add(Request(name="other"))
    async with running(controller):
        await asyncio.sleep(1)
    hist = "controller_runtime_reconcile_time_seconds"
    assert counter(registry, f"{hist}_count") == 3  # 0.25 s, the error, its 5 ms retry
    assert counter(registry, f"{hist}_sum") == pytest.approx(0.25)


async def test_reconcile_timeout_cancels_and_retries_with_backoff() -> None:
    registry = CollectorRegistry()
    cancelled: list[float] = []

    class Slow(Scripted):
        async def reconcile(self, request: Request) -> Result:
            if not self.calls:
                self.calls.append((asyncio.get_running_loop().time(), 0))
                try:
                    await asyncio.sleep(10)
                except asyncio.CancelledError:
                    cancelled.append(asyncio.get_running_loop().time())
                    raise
            return await super().reconcile(request)

    rec = Slow()
    controller = make(rec, registry, reconcile_timeout=1.0)
    controller.queue.add(REQ)
    async with running(controller):
        await asyncio.sleep(5)
    assert cancelled == [pytest.approx(1.0)]
    assert [t for t, _ in rec.calls] == [0.0, 1.005]
    assert counter(registry, "controller_runtime_reconcile_timeouts_total") == 1
    assert counter(registry, "controller_runtime_reconcile_errors_total") == 1
    assert total(registry, "success") == 1


async def test_timeout_error_from_the_reconciler_is_not_our_timeout() -> None:
    registry = CollectorRegistry()
    rec = Scripted(TimeoutError("upstream call timed out"), Result())
    controller = make(rec, registry, reconcile_timeout=60.0)
    controller.queue.add(REQ)
    async with running(controller):
        await asyncio.sleep(1)
    assert [t for t, _ in rec.calls] == [0.0, 0.005]
    assert counter(registry, "controller_runtime_reconcile_timeouts_total") == 0
    assert counter(registry, "controller_runtime_reconcile_errors_total") == 1


async def test_each_reconcile_binds_controller_name_and_a_fresh_reconcile_id() -> None:
    seen: list[dict[str, object]] = []

    class Probe(Scripted):
        async def reconcile(self, request: Request) -> Result:
            seen.append(structlog.contextvars.get_contextvars())
            return Result()

    rec = Probe()
    controller = make(rec, CollectorRegistry())
    controller.queue.add(Request(name="cluster-scoped"))
    controller.queue.add(Request(namespace="ns", name="namespaced"))
    async with running(controller):
        await asyncio.sleep(1)
        controller.queue.add(Request(name="cluster-scoped"))
        await asyncio.sleep(1)
    assert [{k: v for k, v in c.items() if k != "reconcile_id"} for c in seen] == [
        {"controller": "ctl", "name": "cluster-scoped"},
        {"controller": "ctl", "name": "namespaced", "namespace": "ns"},
        {"controller": "ctl", "name": "cluster-scoped"},
    ]
    ids = [c["reconcile_id"] for c in seen]
    assert len(set(ids)) == 3
    assert structlog.contextvars.get_contextvars() == {}


async def test_reconciler_errors_are_logged_with_their_kind() -> None:
    rec = Scripted(RuntimeError("transient"), TerminalError("bad spec"))
    controller = make(rec, CollectorRegistry())
    controller.queue.add(REQ)
    with capture_logs() as logs:
        async with running(controller):
            await asyncio.sleep(1)
    errors = [e for e in logs if e["event"] == "reconciler error"]
    assert [(e["log_level"], e["terminal"], str(e["exc_info"])) for e in errors] == [
        ("error", False, "transient"),
        ("error", True, "bad spec"),
    ]


class _StillStarting(Exception):
    retry_expected = True


async def test_expected_retries_log_at_info_without_traceback() -> None:
    rec = Scripted(Conflict("the object has been modified"), _StillStarting("not started"))
    controller = make(rec, CollectorRegistry())
    controller.queue.add(REQ)
    with capture_logs() as logs:
        async with running(controller):
            await asyncio.sleep(1)
    assert len(rec.calls) == 3  # both retried
    retried = [e for e in logs if e["event"] == "reconcile retried"]
    assert [(e["log_level"], e["reason"], "exc_info" in e) for e in retried] == [
        ("info", "Conflict", False),
        ("info", "_StillStarting", False),
    ]
    assert not [e for e in logs if e["event"] == "reconciler error"]
