"""Retry helpers for API writes: ``retry_on_conflict`` and ``on_error``.

Mirrors client-go ``util/retry/util.go``: ``backoff.steps`` attempts in total, the first
at once, the later ones after the delays of :class:`~bgpctl.runtime.backoff.Backoff`.
When every attempt failed with a retriable error, the last error is raised.

Upstream: the function returns an ``error``; we let the exception of the last attempt
propagate, and a non-retriable exception propagates at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bgpctl.runtime.backoff import Backoff
from bgpctl.runtime.client.errors import is_conflict

T = TypeVar("T")


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
    while True:
        try:
            return await fn()
        except Exception as exc:
            delay = next(delays, None) if retriable(exc) else None
            if delay is None:
                raise
        await asyncio.sleep(delay)


async def retry_on_conflict(
    fn: Callable[[], Awaitable[T]], *, backoff: Backoff = DEFAULT_RETRY
) -> T:
    """Run a read-modify-write ``fn`` again whenever it fails with ``Conflict``.

    ``fn`` must fetch the latest object on every call; re-sending the same stale body
    can never succeed. ``AlreadyExists`` is not a conflict and is raised at once.
    """
    return await on_error(backoff, is_conflict, fn)
