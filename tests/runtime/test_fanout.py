"""run_bounded: every call runs, at most ``limit`` at a time, the first failure is raised."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from bgpctl.runtime.fanout import run_bounded


@pytest.mark.looptime
async def test_calls_run_in_parallel_up_to_the_limit() -> None:
    running = peak = 0
    done: list[int] = []

    def call(i: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(1)
            running -= 1
            done.append(i)

        return run

    loop = asyncio.get_running_loop()
    start = loop.time()
    await run_bounded((call(i) for i in range(10)), limit=4)
    assert sorted(done) == list(range(10))
    assert peak == 4
    assert loop.time() - start == pytest.approx(3.0)


async def test_all_calls_finish_and_the_first_failure_is_raised() -> None:
    done: list[int] = []

    def call(i: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            await asyncio.sleep(0.01 * (10 - i))
            if i in (3, 7):
                raise RuntimeError(f"call {i}")
            done.append(i)

        return run

    with pytest.raises(RuntimeError, match="call 3"):
        await run_bounded([call(i) for i in range(10)], limit=3)
    assert sorted(done) == [0, 1, 2, 4, 5, 6, 8, 9]


async def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        await run_bounded([], limit=0)
