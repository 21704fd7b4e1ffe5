"""Controller lifecycle: start order, cache sync, shutdown drain, misuse.

Start = start sources, wait for them to sync (bounded by ``cache_sync_timeout``), then
workers. Cancellation lets the reconcile in hand finish but starts nothing new; a
second cancellation cancels it. Sources are ``Kind`` over ``FakeInformer``. Leaves out
the dispatch table and metrics (their own modules).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect

import pytest

from bgpctl.runtime.controller import Controller, ControllerOptions
from bgpctl.runtime.handler import enqueue_for_object
from bgpctl.runtime.manager import Manager
from bgpctl.runtime.reconcile import Request, Result
from bgpctl.runtime.runnable import CacheSyncTimeoutError
from bgpctl.runtime.source import Kind
from bgpctl.runtime.workqueue import ItemExponentialFailureRateLimiter
from bgpctl.testing.informer import FakeInformer

pytestmark = [pytest.mark.usefixtures("quiet_logs"), pytest.mark.looptime]


def obj(name: str) -> dict[str, object]:
    return {"apiVersion": "bgp.miloapis.com/v1alpha1", "kind": "X", "metadata": {"name": name}}


class Recorder:
    def __init__(self, duration: float = 0.0) -> None:
        self.duration = duration
        self.started: list[tuple[float, str]] = []
        self.finished: list[tuple[float, str]] = []
        self.cancelled: list[tuple[float, str]] = []

    async def reconcile(self, request: Request) -> Result:
        loop = asyncio.get_running_loop()
        self.started.append((loop.time(), request.name))
        try:
            await asyncio.sleep(self.duration)
        except asyncio.CancelledError:
            self.cancelled.append((loop.time(), request.name))
            raise
        self.finished.append((loop.time(), request.name))
        return Result()


async def test_workers_start_only_after_sources_sync() -> None:
    informer = FakeInformer([obj("a")], synced=False)
    rec = Recorder()
    controller = Controller("ctl", rec)
    controller.watch(Kind(informer, enqueue_for_object()))
    task = asyncio.create_task(controller.start())
    await asyncio.sleep(1.0)
    assert rec.started == []
    assert len(controller.queue) == 1  # the initial list was already enqueued
    informer.mark_synced()
    await asyncio.sleep(0.5)
    assert [name for _, name in rec.started] == ["a"]
    assert 1.0 <= rec.started[0][0] <= 1.1  # next has_synced poll (100 ms)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_source_not_synced_within_timeout_fails_start() -> None:
    informer = FakeInformer([obj("a")], synced=False)
    rec = Recorder()
    controller = Controller("ctl", rec)
    controller.watch(Kind(informer, enqueue_for_object()))
    loop = asyncio.get_running_loop()
    with pytest.raises(CacheSyncTimeoutError):
        await controller.start()
    assert loop.time() == pytest.approx(120.0)
    assert rec.started == []
    assert controller.queue.shutting_down()


async def test_custom_cache_sync_timeout() -> None:
    controller = Controller("ctl", Recorder(), options=ControllerOptions(cache_sync_timeout=5.0))
    controller.watch(Kind(FakeInformer(synced=False), enqueue_for_object()))
    with pytest.raises(CacheSyncTimeoutError):
        await controller.start()
    assert asyncio.get_running_loop().time() == pytest.approx(5.0)


async def test_cancel_lets_the_current_reconcile_finish_and_starts_nothing_new() -> None:
    rec = Recorder(duration=5.0)
    controller = Controller("ctl", rec)
    controller.queue.add(Request(name="a"))
    controller.queue.add(Request(name="b"))  # queued behind a (one worker)
    task = asyncio.create_task(controller.start())
    await asyncio.sleep(1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert asyncio.get_running_loop().time() == pytest.approx(5.0)
    assert rec.finished == [(5.0, "a")]
    assert rec.cancelled == []
    assert [name for _, name in rec.started] == ["a"]
    assert controller.queue.shutting_down()


async def test_second_cancel_cancels_the_reconcile_in_hand() -> None:
    rec = Recorder(duration=5.0)
    controller = Controller("ctl", rec, options=ControllerOptions(max_concurrent_reconciles=2))
    controller.queue.add(Request(name="a"))
    controller.queue.add(Request(name="b"))
    task = asyncio.create_task(controller.start())
    await asyncio.sleep(1.0)
    task.cancel()
    await asyncio.sleep(1.0)
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(rec.cancelled) == [(2.0, "a"), (2.0, "b")]
    assert rec.finished == []


async def test_shutting_the_queue_down_ends_start_normally() -> None:
    rec = Recorder()
    controller = Controller("ctl", rec, options=ControllerOptions(max_concurrent_reconciles=3))
    task = asyncio.create_task(controller.start())
    controller.queue.add(Request(name="a"))
    await asyncio.sleep(0.1)
    controller.queue.shut_down()
    await asyncio.wait_for(task, timeout=1.0)
    assert task.exception() is None
    assert [name for _, name in rec.started] == ["a"]


async def test_watch_after_start_starts_the_source_at_once() -> None:
    rec = Recorder()
    controller = Controller("ctl", rec)
    task = asyncio.create_task(controller.start())
    await asyncio.sleep(0.1)
    informer = FakeInformer([obj("late")])
    controller.watch(Kind(informer, enqueue_for_object()))
    await asyncio.sleep(0.1)
    assert [name for _, name in rec.started] == ["late"]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_starting_twice_is_an_error() -> None:
    controller = Controller("ctl", Recorder())
    task = asyncio.create_task(controller.start())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="more than once"):
        await controller.start()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_a_bug_outside_the_reconciler_stops_the_controller() -> None:
    class Boom:
        def when(self, item: Request) -> float:
            raise LookupError("limiter bug")

        def forget(self, item: Request) -> None:
            pass

        def num_requeues(self, item: Request) -> int:
            return 0

    class Failing:
        async def reconcile(self, request: Request) -> Result:
            raise RuntimeError("reconcile failed")

    controller = Controller(
        "ctl",
        Failing(),
        options=ControllerOptions(rate_limiter=Boom(), max_concurrent_reconciles=2),
    )
    controller.queue.add(Request(name="a"))
    with pytest.raises(LookupError, match="limiter bug"):
        await asyncio.wait_for(controller.start(), timeout=5)
    assert controller.queue.shutting_down()


def test_runnable_shape_and_leader_election_flag() -> None:
    default = Controller("a", Recorder())
    leader_only = Controller("b", Recorder(), options=ControllerOptions(needs_leader_election=True))
    assert default.needs_leader_election is False  # per node unless declared
    assert leader_only.needs_leader_election is True
    assert inspect.iscoroutinefunction(default.start)


@pytest.mark.parametrize(
    ("name", "workers"), [("", 1), ("ctl", 0)], ids=["empty-name", "no-workers"]
)
def test_invalid_construction(name: str, workers: int) -> None:
    with pytest.raises(ValueError):
        Controller(name, Recorder(), options=ControllerOptions(max_concurrent_reconciles=workers))


async def test_custom_rate_limiter_is_used() -> None:
    class Flaky(Recorder):
        async def reconcile(self, request: Request) -> Result:
            await super().reconcile(request)
            if len(self.started) < 3:
                raise RuntimeError("again")
            return Result()

    rec = Flaky()
    limiter: ItemExponentialFailureRateLimiter[Request] = ItemExponentialFailureRateLimiter(
        1.0, 60.0
    )
    controller = Controller("ctl", rec, options=ControllerOptions(rate_limiter=limiter))
    controller.queue.add(Request(name="a"))
    task = asyncio.create_task(controller.start())
    await asyncio.sleep(10)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert [t for t, _ in rec.started] == [0.0, 1.0, 3.0]


async def test_source_sync_timeout_under_a_manager_is_the_managers_error_too() -> None:
    # One CacheSyncTimeoutError: a controller's own timeout is not wrapped by the manager.
    controller = Controller("ctl", Recorder(), options=ControllerOptions(cache_sync_timeout=5.0))
    controller.watch(Kind(FakeInformer(synced=False), enqueue_for_object()))
    manager = Manager()
    manager.add(controller)
    with pytest.raises(CacheSyncTimeoutError, match="ctl"):
        await asyncio.wait_for(manager.start(), 60)
