"""Retry helpers for API writes: ``retry_on_conflict`` and ``on_error``.

Mirrors client-go ``util/retry/util.go`` and the ``wait.Backoff`` stepping of
apimachinery ``pkg/util/wait/backoff.go``: ``steps`` attempts in total, the first at
once, each later one after ``duration`` (grown by ``factor``, jittered by up to
``jitter`` × duration, clamped by ``cap``). When every attempt failed with a retriable
error, the last error is raised.

Upstream: the function returns an ``error``; we let the exception of the last attempt
propagate, and a non-retriable exception propagates at once.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from bgpctl.runtime.client.errors import is_conflict

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Parameters of a bounded exponential backoff (client-go ``wait.Backoff``).

    Attributes:
        duration: First delay, seconds.
        factor: Multiplier applied after each step (1.0 = constant).
        jitter: Each delay is extended by up to ``jitter`` × delay at random.
        steps: Number of attempts in total.
        cap: Upper bound on the un-jittered delay, seconds; 0 means none.
    """

    duration: float
    factor: float = 1.0
    jitter: float = 0.0
    steps: int = 1
    cap: float = 0.0

    def delays(self, rng: Callable[[], float] = random.random) -> list[float]:
        """The ``steps - 1`` delays slept between attempts."""
        out: list[float] = []
        duration = self.duration
        for _ in range(max(self.steps - 1, 0)):
            delay = duration
            if self.factor:
                duration *= self.factor
                if self.cap > 0:
                    duration = min(duration, self.cap)
            if self.jitter > 0:
                delay += rng() * self.jitter * delay
            out.append(delay)
        return out


DEFAULT_RETRY = Backoff(duration=0.010, factor=1.0, jitter=0.1, steps=5)
"""client-go ``retry.DefaultRetry``: for conflicts, which resolve quickly."""

DEFAULT_BACKOFF = Backoff(duration=0.010, factor=5.0, jitter=0.1, steps=4)
"""client-go ``retry.DefaultBackoff``: for errors that need the server to recover."""


async def on_error(
    backoff: Backoff,
    retriable: Callable[[Exception], bool],
    fn: Callable[[], Awaitable[T]],
) -> T:
    """Call ``fn`` until it succeeds, retrying while ``retriable(error)`` holds.

    Args:
        backoff: Number of attempts and the delays between them.
        retriable: Decides whether an exception is worth another attempt.
        fn: The operation; it must re-read what it needs (e.g. GET before UPDATE).

    Returns:
        The first successful result.

    Raises:
        Exception: The last retriable error once the attempts are used up, or the
            first non-retriable one at once. Cancellation propagates unchanged.
    """
    delays = backoff.delays()
    for attempt in range(len(delays) + 1):
        try:
            return await fn()
        except Exception as exc:
            if not retriable(exc) or attempt == len(delays):
                raise
        await asyncio.sleep(delays[attempt])
    raise AssertionError("unreachable")  # pragma: no cover


async def retry_on_conflict(
    fn: Callable[[], Awaitable[T]], *, backoff: Backoff = DEFAULT_RETRY
) -> T:
    """Run a read-modify-write ``fn`` again whenever it fails with ``Conflict``.

    ``fn`` must fetch the latest object on every call; re-sending the same stale body
    can never succeed. ``AlreadyExists`` is not a conflict and is raised at once.
    """
    return await on_error(backoff, is_conflict, fn)
