"""The controller: sources feed a rate-limited queue, workers run the reconciler.

Mirrors controller-runtime pkg/internal/controller/controller.go. ``start()`` starts the
sources, waits (at most ``cache_sync_timeout``) for them to sync, then runs
``max_concurrent_reconciles`` workers until cancelled. The queue alone guarantees that
one request never runs on two workers at once. Each outcome of a reconcile maps to one
queue action (``_dispatch_error`` and ``_dispatch_result``):

- ``TerminalError``: no requeue, result "error", terminal counter + 1;
- any other ``Exception`` (including our reconcile timeout): ``add_rate_limited``;
- ``Result(requeue_after > 0)``: ``forget`` then ``add_after``;
- ``Result()``: ``forget``;
- always ``done`` and observe the reconcile time.

Differences from upstream, on purpose:

- Shutdown: upstream shuts the queue down and lets workers keep calling ``Get``, so the
  queued items still run, with a cancelled context. We stop taking items once the queue
  shuts down: workers finish only the reconcile in hand, because we have no context to
  cancel and running the backlog would hold shutdown hostage to real I/O. A second
  cancellation while waiting cancels the in-flight reconciles.
- An optional per-reconcile timeout (``reconcile_timeout``) counts as an ordinary error
  and also increments ``controller_runtime_reconcile_timeouts_total``.
- ``needs_leader_election`` defaults to False (upstream: True), matching the manager.
- Panics do not exist; there is no panic counter and no recover option.
- Metrics go through ``ControllerMetricsProvider`` (implemented by ``bgpctl.metrics``),
  not a global registry.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass
from typing import Final, Protocol

import structlog
from structlog.contextvars import bind_contextvars, reset_contextvars

from bgpctl.runtime import clock
from bgpctl.runtime.client.errors import Conflict
from bgpctl.runtime.reconcile import Reconciler, Request, Result, TerminalError
from bgpctl.runtime.runnable import CacheSyncTimeoutError
from bgpctl.runtime.source import Source
from bgpctl.runtime.workqueue import (
    SHUTDOWN,
    UNFINISHED_WORK_UPDATE_PERIOD,
    CounterMetric,
    GaugeMetric,
    HistogramMetric,
    QueueMetricsProvider,
    RateLimiter,
    RateLimitingQueue,
    SettableGaugeMetric,
)

_log = structlog.get_logger(__name__)

DEFAULT_CACHE_SYNC_TIMEOUT: Final = 120.0
"""Seconds a controller waits for its sources to sync before failing to start."""

RESULT_SUCCESS: Final = "success"
RESULT_ERROR: Final = "error"
RESULT_REQUEUE_AFTER: Final = "requeue_after"
RESULT_REQUEUE: Final = "requeue"
"""Never produced (``Result.requeue`` is left out); initialised for dashboards."""
RESULTS: Final = (RESULT_ERROR, RESULT_REQUEUE_AFTER, RESULT_REQUEUE, RESULT_SUCCESS)


def _new_reconcile_id() -> str:
    # A random version 4 UUID. uuid.uuid4() reads os.urandom on every call; the PRNG is
    # unique enough to correlate log lines and costs less.
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


class ReconcileTimeoutError(Exception):
    """A reconcile ran longer than ``reconcile_timeout``; retried with backoff."""


class ControllerMetricsProvider(Protocol):
    """Creates one controller's metrics; implemented by ``bgpctl.metrics.controller``.

    Creating a metric must make its series exist at 0 (upstream initialises them at start).
    """

    def new_reconcile_total_metric(self, controller: str, result: str) -> CounterMetric:
        """``controller_runtime_reconcile_total{controller,result}``."""
        ...

    def new_reconcile_errors_metric(self, controller: str) -> CounterMetric:
        """``controller_runtime_reconcile_errors_total{controller}`` (terminal ones too)."""
        ...

    def new_terminal_reconcile_errors_metric(self, controller: str) -> CounterMetric:
        """``controller_runtime_terminal_reconcile_errors_total{controller}``."""
        ...

    def new_reconcile_timeouts_metric(self, controller: str) -> CounterMetric:
        """``controller_runtime_reconcile_timeouts_total{controller}`` (upstream name)."""
        ...

    def new_reconcile_time_metric(self, controller: str) -> HistogramMetric:
        """``controller_runtime_reconcile_time_seconds{controller}``."""
        ...

    def new_max_concurrent_reconciles_metric(self, controller: str) -> SettableGaugeMetric:
        """``controller_runtime_max_concurrent_reconciles{controller}``."""
        ...

    def new_active_workers_metric(self, controller: str) -> GaugeMetric:
        """``controller_runtime_active_workers{controller}``."""
        ...


class _Metrics:
    """One controller's metric handles (created at start, as upstream's initMetrics)."""

    def __init__(self, provider: ControllerMetricsProvider, name: str, workers: int) -> None:
        self.total = {r: provider.new_reconcile_total_metric(name, r) for r in RESULTS}
        self.errors = provider.new_reconcile_errors_metric(name)
        self.terminal = provider.new_terminal_reconcile_errors_metric(name)
        self.timeouts = provider.new_reconcile_timeouts_metric(name)
        self.time = provider.new_reconcile_time_metric(name)
        self.active = provider.new_active_workers_metric(name)
        provider.new_max_concurrent_reconciles_metric(name).set(workers)


@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerOptions:
    """How a controller runs.

    Attributes:
        max_concurrent_reconciles: Number of workers (default 1).
        cache_sync_timeout: Seconds to wait for sources to sync at start (default 120).
        reconcile_timeout: Seconds one reconcile may take before it is cancelled and
            retried with backoff; ``None`` (default) means no limit.
        rate_limiter: Backoff for failed requests; the classic controller default
            (5 ms .. 1000 s per item, 10/s burst 100 overall) when ``None``.
        needs_leader_election: Run only on the elected leader. Upstream defaults to True;
            we default to False, as the manager's ``needs_leader_election()`` does,
            because almost every bgpctl controller runs per node and only peering-policy
            materialisation needs a single leader.
        metrics: Controller metrics; ``None`` keeps none.
        queue_metrics: Work-queue metrics (queue named after the controller).
    """

    max_concurrent_reconciles: int = 1
    cache_sync_timeout: float = DEFAULT_CACHE_SYNC_TIMEOUT
    reconcile_timeout: float | None = None
    rate_limiter: RateLimiter[Request] | None = None
    needs_leader_election: bool = False
    metrics: ControllerMetricsProvider | None = None
    queue_metrics: QueueMetricsProvider | None = None


class Controller:
    """Runs a reconciler for the requests its sources produce; a ``Runnable`` by shape.

    Args:
        name: Unique controller name, used in logs and metric labels.
        reconciler: The reconciler.
        options: Tuning; see ``ControllerOptions``.

    Raises:
        ValueError: Empty name or fewer than one worker.
    """

    def __init__(
        self, name: str, reconciler: Reconciler, *, options: ControllerOptions | None = None
    ) -> None:
        options = options if options is not None else ControllerOptions()
        if not name:
            raise ValueError("controller name must not be empty")
        if options.max_concurrent_reconciles < 1:
            raise ValueError("max_concurrent_reconciles must be at least 1")
        self.name = name
        self.reconciler = reconciler
        self.options = options
        self.needs_leader_election: bool = options.needs_leader_election
        self.restartable = False
        """A controller starts once (wrap it in ``Rebuilding`` to run it again)."""
        self.queue: RateLimitingQueue[Request] = RateLimitingQueue(
            options.rate_limiter, name=name, metrics_provider=options.queue_metrics
        )
        self._sources: list[Source] = []
        self._started = False
        self._metrics: _Metrics | None = None
        self._log = _log.bind(controller=name)

    def watch(self, source: Source) -> None:
        """Add a source; started with the controller, or at once if already running."""
        self._sources.append(source)
        if self._started:
            source.start(self.queue)

    async def start(self) -> None:
        """Start sources, wait for them to sync, then reconcile until cancelled.

        Cancellation shuts the queue down; workers finish the reconcile in hand (a second
        cancellation cancels those too), then ``CancelledError`` propagates. ``start``
        also returns if someone else shuts the queue down.

        Raises:
            RuntimeError: Started twice.
            CacheSyncTimeoutError: Sources not synced within ``cache_sync_timeout``.
        """
        if self._started:
            raise RuntimeError(f"controller {self.name!r} was started more than once")
        self._started = True
        try:
            if self.options.metrics is not None:
                self._metrics = _Metrics(
                    self.options.metrics, self.name, self.options.max_concurrent_reconciles
                )
            for source in self._sources:
                self._log.info("starting event source", source=type(source).__name__)
                source.start(self.queue)
            await self._wait_for_sync()
            await self._run_workers()
        finally:
            self.queue.shut_down()

    async def _wait_for_sync(self) -> None:
        scope = asyncio.timeout(self.options.cache_sync_timeout)
        try:
            async with scope:
                for source in self._sources:
                    await source.wait_for_sync()
        except TimeoutError as err:
            if not scope.expired():
                raise
            self._log.error("cache sync timed out", timeout=self.options.cache_sync_timeout)
            raise CacheSyncTimeoutError(
                f"controller {self.name!r}: sources not synced within "
                f"{self.options.cache_sync_timeout} s"
            ) from err

    async def _run_workers(self) -> None:
        count = self.options.max_concurrent_reconciles
        self._log.info("starting workers", worker_count=count)
        workers = [
            asyncio.create_task(self._worker(), name=f"{self.name}-worker-{i}")
            for i in range(count)
        ]
        gauges: list[asyncio.Task[None]] = []
        if self.options.queue_metrics is not None:
            gauges.append(asyncio.create_task(self._update_queue_gauges()))
        try:
            done, _ = await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()  # a worker bug: re-raise it (finally shuts down the rest)
        finally:
            for task in gauges:
                task.cancel()
            self.queue.shut_down()
            await self._finish_workers(workers)
            await asyncio.gather(*gauges, return_exceptions=True)
            self._log.info("all workers finished")

    async def _finish_workers(self, workers: list[asyncio.Task[None]]) -> None:
        pending = [w for w in workers if not w.done()]
        if not pending:
            return
        self._log.info("shutdown signal received, waiting for all workers to finish")
        try:
            await asyncio.wait(pending)
        except asyncio.CancelledError:
            for worker in pending:
                worker.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            raise

    async def _update_queue_gauges(self) -> None:
        while True:
            await asyncio.sleep(UNFINISHED_WORK_UPDATE_PERIOD)
            self.queue.update_unfinished_work()

    async def _worker(self) -> None:
        queue = self.queue
        metrics = self._metrics
        while True:
            request = await queue.get()
            if request is SHUTDOWN:
                return
            if queue.shutting_down():
                queue.done(request)
                return
            if metrics is not None:
                metrics.active.inc()
            try:
                await self._reconcile_handler(request)
            finally:
                if metrics is not None:
                    metrics.active.dec()
                queue.done(request)
            # A reconcile that never suspends (nothing to do) would otherwise let one
            # worker hog the loop through a long backlog, starving lease renewals.
            await asyncio.sleep(0)

    async def _reconcile_handler(self, request: Request) -> None:
        started = clock.now()
        if request.namespace:
            tokens = bind_contextvars(
                controller=self.name,
                namespace=request.namespace,
                name=request.name,
                reconcile_id=_new_reconcile_id(),
            )
        else:
            tokens = bind_contextvars(
                controller=self.name, name=request.name, reconcile_id=_new_reconcile_id()
            )
        try:
            result = await self._call_reconciler(request)
        except Exception as err:
            self._dispatch_error(request, err)
        else:
            self._dispatch_result(request, result)
        finally:
            reset_contextvars(**tokens)
            if self._metrics is not None:
                self._metrics.time.observe(clock.now() - started)

    async def _call_reconciler(self, request: Request) -> Result:
        timeout = self.options.reconcile_timeout
        if timeout is None:
            return await self.reconciler.reconcile(request)
        scope = asyncio.timeout(timeout)
        try:
            async with scope:
                return await self.reconciler.reconcile(request)
        except TimeoutError as err:
            if not scope.expired():
                raise
            if self._metrics is not None:
                self._metrics.timeouts.inc()
            raise ReconcileTimeoutError(f"reconcile exceeded {timeout} s") from err

    def _dispatch_error(self, request: Request, err: Exception) -> None:
        metrics = self._metrics
        if isinstance(err, TerminalError):
            # Upstream does not forget here either: the failure count lingers until the
            # next success forgets it, so a later non-terminal error backs off further.
            if metrics is not None:
                metrics.terminal.inc()
        else:
            self.queue.add_rate_limited(request)
        if metrics is not None:
            metrics.errors.inc()
            metrics.total[RESULT_ERROR].inc()
        if is_expected_retry(err):
            # Expected and retried (an optimistic-lock conflict, a dependency still
            # starting): one line at info, no traceback.
            self._log.info("reconcile retried", reason=type(err).__name__, error=str(err))
        else:
            self._log.error(
                "reconciler error", terminal=isinstance(err, TerminalError), exc_info=err
            )

    def _dispatch_result(self, request: Request, result: Result) -> None:
        queue = self.queue
        if result.requeue_after > 0:
            queue.forget(request)
            queue.add_after(request, result.requeue_after)
            outcome = RESULT_REQUEUE_AFTER
        else:
            queue.forget(request)
            outcome = RESULT_SUCCESS
        if self._metrics is not None:
            self._metrics.total[outcome].inc()


def is_expected_retry(err: BaseException) -> bool:
    """Whether ``err`` is a routine, retried condition rather than a failure to report.

    A ``Conflict`` (409: the object changed since it was read) is; so is any exception
    whose class sets ``retry_expected = True`` (e.g. "the daemon is not started yet").
    """
    return (
        isinstance(err, Conflict)
        and not isinstance(err, TerminalError)
        or bool(getattr(err, "retry_expected", False))
    )
