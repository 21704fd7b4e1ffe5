"""One backoff schedule for every retry in bgpctl, and the two ways the runtime steps it.

Mirrors apimachinery ``pkg/util/wait/backoff.go`` (``Backoff``, the exponential backoff
manager) and client-go ``tools/cache/retry_with_deadline.go``. Every retry in bgpctl
uses :class:`Backoff`: API writes (``client.retry``), the reflector's relists and
re-watches, GoBGP reconnects and stream resubscriptions, and failed kernel routes.

The delay before retry ``n`` (0 = the first) is ``duration · factor**n``, at most
``cap``, then lengthened by a random fraction up to ``jitter`` of itself (as
``wait.Jitter``: jitter never shortens a delay, so ``cap · (1 + jitter)`` bounds it).

Upstream: ``wait.Backoff.Step`` mutates the struct; ours is frozen and a delay is a
function of the attempt number, so one value can be shared and a caller keeps its own
count (or iterates :meth:`Backoff.delays`).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bgpctl.runtime import clock

_MAX_GROWTH = 64
"""Attempts beyond this do not grow the delay further (and never overflow a float)."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Parameters of a bounded exponential backoff (apimachinery ``wait.Backoff``).

    Attributes:
        duration: First delay, seconds.
        factor: Growth per attempt (1.0, or 0, = constant).
        jitter: Each delay is lengthened by up to ``jitter`` × itself at random.
        steps: Attempts in total, the first one without delay; 0 = no limit.
        cap: Upper bound of the un-jittered delay, seconds; 0 = none.
    """

    duration: float
    factor: float = 1.0
    jitter: float = 0.0
    steps: int = 0
    cap: float = 0.0

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """The delay before retry number ``attempt`` (0 = the first retry), seconds."""
        base = self.duration * (self.factor or 1.0) ** min(attempt, _MAX_GROWTH)
        if self.cap > 0:
            base = min(base, self.cap)
        if self.jitter > 0:
            base += rng() * self.jitter * base
        return base

    def delays(self, rng: Callable[[], float] = random.random) -> Iterator[float]:
        """The delays slept between attempts: ``steps - 1`` of them, endless if ``steps`` is 0."""
        attempt = 0
        while self.steps <= 0 or attempt < self.steps - 1:
            yield self.delay(attempt, rng)
            attempt += 1


class BackoffManager:
    """Steps a :class:`Backoff` and starts over after a quiet period.

    Mirrors apimachinery ``wait.NewExponentialBackoffManager``: each :meth:`step` returns
    the next delay; if the previous step was more than ``reset_after`` seconds ago, the
    schedule starts again from its first delay.

    Args:
        backoff: The schedule; its ``steps`` is ignored (a manager never runs out).
        reset_after: Quiet time after which the next delay is the first one again.
        rng: Source of uniform [0, 1) numbers for the jitter (tests pin it).
    """

    def __init__(
        self,
        backoff: Backoff,
        *,
        reset_after: float,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.backoff = backoff
        self._reset_after = reset_after
        self._rng = rng
        self._attempt = 0
        self._last_step: float | None = None

    def step(self) -> float:
        """The next delay, seconds."""
        now = clock.now()
        if self._last_step is not None and now - self._last_step > self._reset_after:
            self._attempt = 0
        self._last_step = now
        delay = self.backoff.delay(self._attempt, self._rng)
        self._attempt += 1
        return delay

    async def wait(self) -> None:
        """Sleep for the next delay."""
        await asyncio.sleep(self.step())


class RetryWithDeadline:
    """Whether a retriable error may be retried in place, within a window of time.

    Mirrors client-go ``retryWithDeadline``: the window opens at the first retriable
    error; it starts over when the previous retriable error is at least
    ``min_reset_period`` old, and closes (also starting over) once an error finds it
    more than ``max_retry_duration`` old. ``max_retry_duration`` 0 never retries.

    Call :meth:`after` with every error, then :meth:`should_retry`.
    """

    def __init__(
        self,
        max_retry_duration: float,
        min_reset_period: float,
        retriable: Callable[[Exception], bool],
    ) -> None:
        self._max = max_retry_duration
        self._min_reset = min_reset_period
        self._retriable = retriable
        self._first: float | None = None
        self._last: float | None = None

    def after(self, error: Exception) -> None:
        """Record that ``error`` happened now."""
        if not self._retriable(error):
            return
        now = clock.now()
        if self._last is None or now - self._last >= self._min_reset:
            self._first = None
        if self._first is None:
            self._first = now
        self._last = now

    def should_retry(self) -> bool:
        """Whether the window opened by the first recorded error is still open."""
        if self._max <= 0:
            return False
        if self._first is not None and clock.now() - self._first <= self._max:
            return True
        self._first = self._last = None
        return False
