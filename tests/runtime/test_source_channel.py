"""Channel source: generic events from asyncio code, including "re-enqueue everything".

Covers buffering before start, fan-out to several controllers, predicates, and the
GoBGP-connection-lost pattern (``trigger()`` with a map func listing every key) through
a running controller.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from bgpctl.runtime.controller import Controller
from bgpctl.runtime.event import GenericEvent
from bgpctl.runtime.handler import enqueue_for_object, enqueue_from_map_func
from bgpctl.runtime.predicate import Funcs
from bgpctl.runtime.reconcile import Request, Result
from bgpctl.runtime.source import Channel, Kind
from bgpctl.testing.informer import FakeInformer

pytestmark = pytest.mark.usefixtures("quiet_logs")


class ListQueue:
    def __init__(self) -> None:
        self.items: list[Request] = []

    def add(self, item: Request) -> None:
        self.items.append(item)


def obj(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}}


def test_events_before_start_are_delivered_at_start() -> None:
    channel = Channel(enqueue_for_object())
    channel.send(GenericEvent(obj("early")))
    q = ListQueue()
    channel.start(q)
    channel.send(GenericEvent(obj("late")))
    assert q.items == [Request(name="early"), Request(name="late")]


def test_every_started_queue_receives_each_event() -> None:
    channel = Channel(enqueue_for_object())
    first, second = ListQueue(), ListQueue()
    channel.start(first)
    channel.start(second)
    channel.trigger(obj("x"))
    assert first.items == second.items == [Request(name="x")]


def test_predicates_filter_generic_events() -> None:
    channel = Channel(
        enqueue_for_object(), Funcs(on_generic=lambda e: e.obj["metadata"]["name"] != "skip")
    )
    q = ListQueue()
    channel.start(q)
    channel.trigger(obj("skip"))
    channel.trigger(obj("keep"))
    assert q.items == [Request(name="keep")]


def test_trigger_without_object_sends_an_empty_generic_event() -> None:
    seen: list[dict[str, Any]] = []

    def record(o: dict[str, Any]) -> list[Request]:
        seen.append(o)
        return []

    channel = Channel(enqueue_from_map_func(record))
    channel.start(ListQueue())
    channel.trigger()
    assert seen == [{}]


@pytest.mark.looptime
async def test_trigger_re_enqueues_everything_in_a_running_controller() -> None:
    informer = FakeInformer([obj("a"), obj("b"), obj("c")])
    reconciled: list[str] = []

    class Rec:
        async def reconcile(self, request: Request) -> Result:
            reconciled.append(request.name)
            return Result()

    def every_key(_: dict[str, Any]) -> list[Request]:
        return [Request(name=key) for key in sorted(informer.store)]

    gobgp_lost = Channel(enqueue_from_map_func(every_key))
    controller = Controller("ctl", Rec())
    controller.watch(Kind(informer, enqueue_for_object()))
    controller.watch(gobgp_lost)
    task = asyncio.create_task(controller.start())
    await asyncio.sleep(1)
    assert sorted(reconciled) == ["a", "b", "c"]
    gobgp_lost.trigger()
    await asyncio.sleep(1)
    assert sorted(reconciled[3:]) == ["a", "b", "c"]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
