"""The work queue: FIFO order, dedupe, and never one item on two workers at once.

Mirrors client-go util/workqueue/queue.go (``Typed[T]``). State is a FIFO ``queue``, a
``dirty`` set (items that need processing) and a ``processing`` set (handed out by
``get``, not yet ``done``). Invariant: every queued item is dirty and not processing, so
an item re-added while a worker holds it waits in ``dirty`` and is queued again by
``done``: it runs again later, never concurrently.

Differences from upstream, on purpose:

- Upstream guards the state with a mutex and a condition variable for many goroutines;
  we are single-threaded asyncio: only ``get`` and ``shut_down_with_drain`` suspend,
  every other method is a plain ``def`` that cannot interleave with another.
- Upstream ``Get`` returns ``(item, shutdown)``; we return the item, or the ``SHUTDOWN``
  sentinel once the queue is shut down and empty, because a sentinel narrows cleanly
  under mypy (``if item is SHUTDOWN``).
- Upstream starts a goroutine per named queue that refreshes the unfinished-work gauges
  every 500 ms; we expose ``update_unfinished_work()`` and the owner (the controller)
  calls it every ``UNFINISHED_WORK_UPDATE_PERIOD``, because a queue must not start tasks
  that nobody owns.
- Upstream ``Done`` on an item that is not being processed re-queues it when dirty
  (creating a duplicate); we ignore it, because that would break the invariant above.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections import deque
from collections.abc import Hashable
from typing import Final, Generic, Literal, TypeVar

from bgpctl.runtime.workqueue.metrics import QueueMetrics, QueueMetricsProvider, new_queue_metrics

T = TypeVar("T", bound=Hashable)

UNFINISHED_WORK_UPDATE_PERIOD: Final = 0.5
"""Seconds between refreshes of the unfinished-work gauges (upstream: 500 ms)."""


class ShutDown(enum.Enum):
    """Type of the ``SHUTDOWN`` sentinel returned by ``get``."""

    SHUTDOWN = "shutdown"


SHUTDOWN: Final = ShutDown.SHUTDOWN
"""Returned by ``get()`` once the queue is shut down and has nothing queued."""


def _wake_first(waiters: deque[asyncio.Future[None]]) -> None:
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return


def _wake_all(waiters: deque[asyncio.Future[None]]) -> None:
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)


class WorkQueue(Generic[T]):
    """FIFO work queue with dedupe and per-item mutual exclusion.

    Args:
        name: Queue name; metrics are kept only for named queues.
        metrics_provider: Where the queue's metrics go; ``None`` keeps none.
    """

    def __init__(
        self, *, name: str = "", metrics_provider: QueueMetricsProvider | None = None
    ) -> None:
        self.name = name
        self._queue: deque[T] = deque()
        self._dirty: set[T] = set()
        self._processing: set[T] = set()
        self._getters: deque[asyncio.Future[None]] = deque()
        self._drainers: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False
        self._drain = False
        self._metrics: QueueMetrics[T] | None = new_queue_metrics(name, metrics_provider)

    def add(self, item: T) -> None:
        """Mark ``item`` as needing processing.

        Ignored after shutdown and for items already dirty. An item being processed is
        only marked dirty; ``done`` queues it again.
        """
        if self._shutting_down or item in self._dirty:
            return
        if self._metrics is not None:
            self._metrics.add(item)
        self._dirty.add(item)
        if item in self._processing:
            return
        self._queue.append(item)
        _wake_first(self._getters)

    def __len__(self) -> int:
        """Number of queued items (not those being processed or waiting); informational."""
        return len(self._queue)

    async def get(self) -> T | Literal[ShutDown.SHUTDOWN]:
        """Wait for the next item and mark it as processing; the caller must call ``done``.

        Returns:
            The oldest queued item, or ``SHUTDOWN`` once the queue is shut down and empty.
            Items queued before ``shut_down`` are still handed out.

        Cancellation while waiting takes nothing from the queue.
        """
        while not self._queue and not self._shutting_down:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(waiter)
            try:
                await waiter
            except BaseException:
                waiter.cancel()
                with contextlib.suppress(ValueError):
                    self._getters.remove(waiter)
                # A wake-up meant for us must not be lost with us.
                if self._queue and not waiter.cancelled():
                    _wake_first(self._getters)
                raise
        if not self._queue:
            return SHUTDOWN
        item = self._queue.popleft()
        if self._metrics is not None:
            self._metrics.get(item)
        self._processing.add(item)
        self._dirty.discard(item)
        return item

    def done(self, item: T) -> None:
        """Mark ``item`` as finished; queue it again if it was re-added meanwhile.

        A no-op for items that are not being processed.
        """
        if item not in self._processing:
            return
        if self._metrics is not None:
            self._metrics.done(item)
        self._processing.remove(item)
        if item in self._dirty:
            self._queue.append(item)
            _wake_first(self._getters)
        if not self._processing:
            _wake_all(self._drainers)

    def shut_down(self) -> None:
        """Refuse new adds; getters drain the queue, then receive ``SHUTDOWN``.

        Safe to call more than once; also ends a pending ``shut_down_with_drain`` wait.
        """
        self._drain = False
        self._begin_shut_down()
        _wake_all(self._drainers)

    async def shut_down_with_drain(self) -> None:
        """Like ``shut_down``, then wait until no item is being processed.

        A later ``shut_down()`` ends the wait early. Cancellation ends the wait; the queue
        stays shut down.
        """
        self._drain = True
        self._begin_shut_down()
        while self._processing and self._drain:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._drainers.append(waiter)
            try:
                await waiter
            finally:
                if not waiter.done():
                    waiter.cancel()
                    self._drainers.remove(waiter)

    def shutting_down(self) -> bool:
        """True once ``shut_down`` or ``shut_down_with_drain`` was called."""
        return self._shutting_down

    def update_unfinished_work(self) -> None:
        """Refresh ``workqueue_unfinished_work_seconds`` and the longest-running gauge.

        The queue's owner calls this every ``UNFINISHED_WORK_UPDATE_PERIOD``.
        """
        if self._metrics is not None:
            self._metrics.update_unfinished_work()

    def _begin_shut_down(self) -> None:
        self._shutting_down = True
        _wake_all(self._getters)
