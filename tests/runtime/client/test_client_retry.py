"""retry_on_conflict / on_error: attempts, delays and what is retried.

Re-derived from client-go ``util/retry/util_test.go`` (``TestRetryOnConflict``) and
apimachinery ``wait.Backoff`` stepping. Delays are asserted on the virtual clock.
"""

from __future__ import annotations

import asyncio

import pytest

from bgpctl.runtime.backoff import Backoff
from bgpctl.runtime.client.errors import AlreadyExists, Conflict, NotFound, is_retriable
from bgpctl.runtime.client.retry import (
    DEFAULT_BACKOFF,
    DEFAULT_RETRY,
    on_error,
    retry_on_conflict,
)


def test_backoff_delays_follow_factor_cap_and_steps() -> None:
    assert list(Backoff(duration=1.0, factor=2.0, steps=5, cap=5.0).delays()) == [1, 2, 4, 5]
    assert list(Backoff(duration=1.0, steps=1).delays()) == []
    jittered = Backoff(duration=1.0, jitter=0.5, steps=3).delays(rng=lambda: 1.0)
    assert list(jittered) == [1.5, 1.5]
    assert DEFAULT_RETRY.steps == 5 and DEFAULT_BACKOFF.factor == 5.0


@pytest.mark.looptime
async def test_conflicts_are_retried_until_success() -> None:
    """TestRetryOnConflict: succeeds on the third attempt."""
    loop = asyncio.get_running_loop()
    attempts: list[float] = []

    async def write() -> str:
        attempts.append(loop.time())
        if len(attempts) < 3:
            raise Conflict("stale", reason="Conflict")
        return "ok"

    start = loop.time()
    backoff = Backoff(duration=0.01, factor=2.0, steps=5)
    assert await retry_on_conflict(write, backoff=backoff) == "ok"
    assert [round(t - start, 3) for t in attempts] == [0.0, 0.01, 0.03]


@pytest.mark.looptime
async def test_last_conflict_is_raised_when_attempts_run_out() -> None:
    calls = 0

    async def write() -> None:
        nonlocal calls
        calls += 1
        raise Conflict(f"stale {calls}", reason="Conflict")

    with pytest.raises(Conflict, match="stale 5"):
        await retry_on_conflict(write)
    assert calls == DEFAULT_RETRY.steps


async def test_non_conflicts_propagate_at_once() -> None:
    for exc in (NotFound("x"), AlreadyExists("x", reason="AlreadyExists"), ValueError("x")):
        calls = 0

        async def write(exc: Exception = exc) -> None:
            nonlocal calls
            calls += 1
            raise exc

        with pytest.raises(type(exc)):
            await retry_on_conflict(write)
        assert calls == 1


@pytest.mark.looptime
async def test_on_error_uses_the_given_predicate() -> None:
    results = iter([ConnectionError(), None])

    async def op() -> str:
        r = next(results)
        if r is not None:
            raise r
        return "done"

    from bgpctl.runtime.client.errors import ApiConnectionError

    results = iter([ApiConnectionError("reset"), None])
    assert await on_error(DEFAULT_BACKOFF, is_retriable, op) == "done"
