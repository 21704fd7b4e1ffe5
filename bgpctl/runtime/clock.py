"""Monotonic time for the runtime, read from the running event loop.

Mirrors the role of k8s.io/utils/clock (``Clock``/``RealClock``). Upstream reads the wall
clock; we read ``loop.time()`` (monotonic) so that ``looptime`` can virtualise time in unit
tests, and fall back to ``time.monotonic()`` (what the default loop reads) when no loop is
running. Upstream calls the production clock ``RealClock``; we call it ``LoopClock``,
because under looptime it is not real.

Only code that needs "now" outside a coroutine (rate limiters, queue metrics) takes a
``Clock``; code that waits uses the loop directly (``asyncio.sleep``, ``loop.call_at``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Final, Protocol


class Clock(Protocol):
    """A monotonic clock in float seconds."""

    def now(self) -> float:
        """Current monotonic time in seconds (arbitrary epoch)."""
        ...

    async def sleep(self, delay: float) -> None:
        """Suspend for ``delay`` seconds; cancellation propagates."""
        ...


class LoopClock:
    """The running event loop's clock, or ``time.monotonic()`` outside a loop."""

    def now(self) -> float:
        """Loop time of the running loop, else ``time.monotonic()``."""
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return time.monotonic()

    async def sleep(self, delay: float) -> None:
        """``asyncio.sleep(delay)``; cancellation propagates."""
        await asyncio.sleep(delay)


DEFAULT_CLOCK: Final[Clock] = LoopClock()
"""Process-wide default clock."""
