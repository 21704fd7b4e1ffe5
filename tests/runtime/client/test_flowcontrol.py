"""FlowControl: bounded requests in flight, halved and paused by the server's Retry-After."""

from __future__ import annotations

import asyncio

import pytest

from bgpctl.runtime.client.flowcontrol import FlowControl


@pytest.mark.looptime
async def test_no_more_than_the_limit_in_flight() -> None:
    flow = FlowControl(max_inflight=3)
    peak = 0

    async def request() -> None:
        nonlocal peak
        async with flow.slot():
            peak = max(peak, flow.inflight)
            await asyncio.sleep(1)
        flow.served()

    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.gather(*(request() for _ in range(9)))
    assert peak == 3
    assert loop.time() - start == pytest.approx(3.0)
    assert flow.inflight == 0


@pytest.mark.looptime
async def test_retry_after_halves_the_limit_and_pauses_every_request() -> None:
    flow = FlowControl(max_inflight=8)
    loop = asyncio.get_running_loop()
    await flow.throttled(2.0)
    assert flow.limit == 4
    start = loop.time()
    async with flow.slot():
        assert loop.time() - start == pytest.approx(2.0)
    await flow.throttled(1.0)
    await flow.throttled(1.0)
    assert flow.limit == 2  # halved once per pause, however many requests were refused
    for _ in range(3):
        await asyncio.sleep(1.0)
        await flow.throttled(1.0)
    assert flow.limit == 1  # never below one


async def test_served_requests_grow_the_limit_back_to_the_maximum() -> None:
    flow = FlowControl(max_inflight=4)
    await flow.throttled(0.0)
    assert flow.limit == 2
    flow.served()
    flow.served()
    assert flow.limit == 2  # +1/limit each: about one slot per full window
    flow.served()
    assert flow.limit == 3
    for _ in range(20):
        flow.served()
    assert flow.limit == 4


@pytest.mark.looptime
async def test_a_cancelled_waiter_takes_no_slot() -> None:
    flow = FlowControl(max_inflight=1)
    async with flow.slot():
        waiter = asyncio.create_task(flow.slot().__aenter__())
        await asyncio.sleep(0.1)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    assert flow.inflight == 0
    async with asyncio.timeout(1), flow.slot():
        assert flow.inflight == 1


def test_max_inflight_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        FlowControl(max_inflight=0)
