"""Client-side flow control: a bounded, adaptive number of requests in flight.

The API server protects itself with API Priority and Fairness: when a priority level's
seats and queues are full it answers 429 with ``Retry-After`` instead of serving the
request. A client that retries each refused request on its own keeps the same number
of requests in flight and keeps hitting the same limit. :class:`FlowControl` instead
treats a 429 as a signal for the whole client (like TCP's congestion window):

- at most ``limit`` requests are in flight; the limit starts at ``max_inflight``;
- a response with ``Retry-After`` halves the limit (never below 1; once per pause, as
  the requests in flight are usually refused together) and pauses every new request of
  this client until the delay has passed;
- each served request raises the limit by ``1/limit`` (one slot per full window),
  back up to ``max_inflight``.

Upstream client-go limits a client with a token bucket (QPS/Burst, 5/10 by default)
that ignores the server's answers; since APF, the server-side limits are what count,
so we bound concurrency instead of rate and let the server's 429s set the pace.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from bgpctl.runtime import clock

DEFAULT_MAX_INFLIGHT = 32
"""Requests one client keeps in flight at most (watches are not counted)."""


class FlowControl:
    """Admission of requests; see the module docstring.

    Args:
        max_inflight: Upper bound of the adaptive limit.
    """

    def __init__(self, max_inflight: int = DEFAULT_MAX_INFLIGHT) -> None:
        if max_inflight < 1:
            raise ValueError("max_inflight must be at least 1")
        self._max = float(max_inflight)
        self._limit = float(max_inflight)
        self._inflight = 0
        self._paused_until = 0.0
        self._changed = asyncio.Condition()

    @property
    def limit(self) -> int:
        """Requests currently allowed in flight."""
        return int(self._limit)

    @property
    def inflight(self) -> int:
        """Requests in flight now."""
        return self._inflight

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one request slot for the duration of the block."""
        await self._acquire()
        try:
            yield
        finally:
            self._inflight -= 1
            await self._notify()

    async def throttled(self, delay: float) -> None:
        """The server asked us to wait ``delay`` seconds: halve the limit, pause everyone."""
        now = clock.now()
        if now >= self._paused_until:
            # Once per pause: the other requests refused with it report the same event.
            self._limit = max(1.0, self._limit / 2)
        self._paused_until = max(self._paused_until, now + delay)
        await self._notify()

    def served(self) -> None:
        """A request was served: grow the limit by one slot per full window."""
        self._limit = min(self._max, self._limit + 1 / self._limit)

    async def _acquire(self) -> None:
        async with self._changed:
            while True:
                pause = self._paused_until - clock.now()
                if pause > 0:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(pause):
                            await self._changed.wait()
                    continue
                if self._inflight < int(self._limit):
                    self._inflight += 1
                    return
                await self._changed.wait()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()
