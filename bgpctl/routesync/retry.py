"""RetrySchedule: failed routes, their last error, and when each is tried again.

Delays follow a :class:`~bgpctl.runtime.backoff.Backoff` per consecutive failure of a key
(doubling from ``base`` up to ``cap`` seconds, no jitter). One
loop timer (``loop.call_at``) fires for the earliest due key; due keys are handed to a
callback (the engine marks them dirty). Time is the event loop's clock.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable

from bgpctl.routesync.errors import RouteSyncError
from bgpctl.routesync.status import RouteFailure
from bgpctl.routesync.types import RouteKey
from bgpctl.runtime import clock
from bgpctl.runtime.backoff import Backoff


class RetrySchedule:
    """Per-key failures with exponential backoff; must be used on the event loop."""

    def __init__(
        self, *, base: float, cap: float, on_due: Callable[[list[RouteKey]], None]
    ) -> None:
        """Create an empty schedule.

        Args:
            base: delay after the first failure, seconds.
            cap: longest delay, seconds.
            on_due: called from the loop with the keys whose retry time has come.
        """
        self._backoff = Backoff(duration=base, factor=2.0, cap=cap)
        self._on_due = on_due
        self.failures: dict[RouteKey, RouteFailure] = {}
        self._heap: list[tuple[float, RouteKey]] = []
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self.failures)

    def record(self, key: RouteKey, error: RouteSyncError, now: float) -> RouteFailure:
        """Record a failure of ``key`` at loop time ``now`` and schedule its retry."""
        previous = self.failures.get(key)
        attempts = previous.attempts + 1 if previous else 1
        retry_at = now + self._backoff.delay(attempts - 1)
        failure = RouteFailure(error=error, attempts=attempts, retry_at=retry_at)
        self.failures[key] = failure
        heapq.heappush(self._heap, (retry_at, key))
        self._arm()
        return failure

    def clear(self, key: RouteKey) -> None:
        """Forget the failure of ``key`` (it succeeded, or is no longer wanted)."""
        if self.failures:
            self.failures.pop(key, None)

    def cancel(self) -> None:
        """Stop the timer (on shutdown); failures are kept for status."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self) -> None:
        if not self._heap:
            return
        earliest = self._heap[0][0]
        timer = self._timer
        if timer is not None and not timer.cancelled() and timer.when() <= earliest:
            return
        if timer is not None:
            timer.cancel()
        self._timer = asyncio.get_running_loop().call_at(earliest, self._fire)

    def _fire(self) -> None:
        self._timer = None
        now = clock.now()
        due = []
        heap, failures = self._heap, self.failures
        while heap and heap[0][0] <= now:
            retry_at, key = heapq.heappop(heap)
            failure = failures.get(key)
            if failure is not None and failure.retry_at == retry_at:  # else superseded
                due.append(key)
        self._arm()
        if due:
            self._on_due(due)
