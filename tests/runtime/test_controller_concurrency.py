"""Controller concurrency: N workers in parallel, never two on one request.

A producer hammers a few keys while workers reconcile with random (virtual) durations
and random failures; the reconciler records every overlap. Also checks that no event
is lost: every key is reconciled after its last add. Leaves out dispatch details
(test_controller_dispatch.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import random

import pytest

from bgpctl.runtime.controller import Controller, ControllerOptions
from bgpctl.runtime.reconcile import Request, Result

pytestmark = [pytest.mark.usefixtures("quiet_logs"), pytest.mark.looptime]


class Tracking:
    def __init__(self, rng: random.Random, fail_ratio: float) -> None:
        self.rng = rng
        self.fail_ratio = fail_ratio
        self.active: set[Request] = set()
        self.overlaps: list[Request] = []
        self.max_parallel = 0
        self.starts: dict[Request, list[float]] = {}

    async def reconcile(self, request: Request) -> Result:
        if request in self.active:
            self.overlaps.append(request)
        self.active.add(request)
        self.max_parallel = max(self.max_parallel, len(self.active))
        self.starts.setdefault(request, []).append(asyncio.get_running_loop().time())
        try:
            await asyncio.sleep(self.rng.uniform(0.005, 0.05))
            if self.rng.random() < self.fail_ratio:
                raise RuntimeError("flaky")
            return Result()
        finally:
            self.active.discard(request)


@pytest.mark.parametrize(
    ("workers", "fail_ratio"),
    [(1, 0.0), (4, 0.0), (4, 0.3), (8, 0.1)],
    ids=["1-worker", "4-workers", "4-workers-flaky", "8-workers"],
)
async def test_never_two_workers_on_one_key_and_no_event_lost(
    workers: int, fail_ratio: float
) -> None:
    rng = random.Random(workers * 1000 + int(fail_ratio * 10))
    rec = Tracking(rng, fail_ratio)
    controller = Controller(
        "ctl", rec, options=ControllerOptions(max_concurrent_reconciles=workers)
    )
    keys = [Request(name=f"k{i}") for i in range(12)]
    last_add: dict[Request, float] = {}
    loop = asyncio.get_running_loop()

    task = asyncio.create_task(controller.start())
    for _ in range(400):
        key = rng.choice(keys)
        controller.queue.add(key)
        last_add[key] = loop.time()
        await asyncio.sleep(rng.uniform(0, 0.004))
    await asyncio.sleep(30)  # long enough for every backoff in play
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

    assert rec.overlaps == []
    assert rec.max_parallel == workers
    for key, added in last_add.items():
        assert max(rec.starts[key]) >= added, f"{key} lost an event"
