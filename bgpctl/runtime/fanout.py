"""Run many independent API calls with a bounded number of them in flight.

For controllers that create, patch or delete many objects in one reconcile: one
request at a time makes convergence as slow as the sum of the round trips, one task
per object floods the client. :func:`run_bounded` runs ``limit`` workers that take
the calls in order; the API client's flow control (``runtime.client.flowcontrol``)
slows them all down when the server pushes back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

DEFAULT_FANOUT = 16
"""Calls one reconcile keeps in flight by default."""


async def run_bounded(
    calls: Iterable[Callable[[], Awaitable[None]]], *, limit: int = DEFAULT_FANOUT
) -> None:
    """Await every call, at most ``limit`` at a time, all of them even if some fail.

    Raises:
        Exception: the first failure (in call order), once every call has finished;
            later failures are dropped (a reconcile is retried as a whole anyway).
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    pending = iter(calls)
    errors: list[tuple[int, Exception]] = []
    counter = iter(range(1 << 62))

    async def worker() -> None:
        for call in pending:
            index = next(counter)
            try:
                await call()
            except Exception as exc:  # noqa: BLE001 - collected, re-raised below
                errors.append((index, exc))

    async with asyncio.TaskGroup() as tg:
        for _ in range(limit):
            tg.create_task(worker())
    if errors:
        raise min(errors, key=lambda e: e[0])[1]
