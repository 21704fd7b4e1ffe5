"""A work queue whose items can be added after a delay; the earliest ready time wins.

Mirrors client-go util/workqueue/delaying_queue.go. ``add_after(item, delay)`` counts a
retry, adds at once when ``delay <= 0``, and otherwise keeps the item waiting until
``now + delay``. A second ``add_after`` for a waiting item can only move its ready time
earlier. Ready items enter through ``add``, so dedupe and the processing rules of
``WorkQueue`` apply to them.

Upstream: a goroutine owns a heap of waiting items, fed through a channel, and wakes on a
timer for the earliest entry plus a 10 s heartbeat in case a timer is missed. We keep one
``loop.call_at`` timer for the heap's earliest entry and re-arm it whenever the earliest
entry changes; the heartbeat is dropped on purpose, because the event loop cannot miss a
timer, and a callback (unlike a task) needs no owner. Time is the loop's clock, so
looptime virtualises it.

Upstream moves an entry in place (``heap.Fix``) when its time moves earlier; we push a
fresh entry and mark the old one dead, because ``heapq`` has no decrease-key. Dead
entries are dropped when they reach the top.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections.abc import Hashable
from typing import Generic, TypeVar

from bgpctl.runtime import clock
from bgpctl.runtime.workqueue.metrics import QueueMetricsProvider
from bgpctl.runtime.workqueue.queue import WorkQueue

T = TypeVar("T", bound=Hashable)


class _Entry(Generic[T]):
    __slots__ = ("alive", "item", "ready_at", "seq")

    def __init__(self, ready_at: float, seq: int, item: T) -> None:
        self.ready_at = ready_at
        self.seq = seq
        self.item = item
        self.alive = True

    def __lt__(self, other: _Entry[T]) -> bool:
        return (self.ready_at, self.seq) < (other.ready_at, other.seq)


class DelayingQueue(WorkQueue[T]):
    """A ``WorkQueue`` with ``add_after``.

    Args:
        name: Queue name; metrics are kept only for named queues.
        metrics_provider: Where the queue's metrics go; ``None`` keeps none.
    """

    def __init__(
        self, *, name: str = "", metrics_provider: QueueMetricsProvider | None = None
    ) -> None:
        super().__init__(name=name, metrics_provider=metrics_provider)
        self._heap: list[_Entry[T]] = []
        self._waiting: dict[T, _Entry[T]] = {}
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf

    def add_after(self, item: T, delay: float) -> None:
        """Add ``item`` once ``delay`` seconds have passed.

        Ignored after shutdown. Always counts a retry. ``delay <= 0`` adds at once. A
        positive delay must be scheduled from inside the event loop.

        Raises:
            RuntimeError: ``delay > 0`` and no event loop is running.
        """
        if self.shutting_down():
            return
        if self._metrics is not None:
            self._metrics.retry()
        if delay <= 0:
            self.add(item)
            return
        loop = asyncio.get_running_loop()
        ready_at = clock.now() + delay
        current = self._waiting.get(item)
        if current is not None:
            if current.ready_at <= ready_at:
                return
            current.alive = False
        entry = _Entry(ready_at, next(self._seq), item)
        self._waiting[item] = entry
        heapq.heappush(self._heap, entry)
        if ready_at < self._timer_at:
            self._arm(loop)

    def num_waiting(self) -> int:
        """Number of items waiting for their ready time; informational."""
        return len(self._waiting)

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        heap = self._heap
        while heap and not heap[0].alive:
            heapq.heappop(heap)
        if not heap:
            self._timer_at = math.inf
            return
        self._timer_at = heap[0].ready_at
        self._timer = loop.call_at(self._timer_at, self._fire, loop)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        # The loop runs a timer up to one clock tick early; the timer's own time counts.
        deadline = max(clock.now(), self._timer_at)
        heap = self._heap
        while heap and heap[0].ready_at <= deadline:
            entry = heapq.heappop(heap)
            if entry.alive:
                del self._waiting[entry.item]
                self.add(entry.item)
        self._arm(loop)

    def _begin_shut_down(self) -> None:
        super()._begin_shut_down()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = math.inf
        self._heap.clear()
        self._waiting.clear()
