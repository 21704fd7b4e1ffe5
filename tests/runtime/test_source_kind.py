"""Kind source: informer callbacks -> events -> predicates -> handler -> queue.

Uses FakeInformer. Covers initial-list adds, updates, deletes, tombstones (with and
without a last state), predicates, sync polling and misuse. Leaves out the Channel
source (test_source_channel.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bgpctl.runtime.event import CreateEvent, DeleteEvent, GenericEvent, UpdateEvent
from bgpctl.runtime.handler import RequestQueue, enqueue_for_object
from bgpctl.runtime.predicate import Funcs, generation_changed
from bgpctl.runtime.reconcile import Request
from bgpctl.runtime.source import Kind
from bgpctl.testing.informer import FakeInformer

pytestmark = pytest.mark.usefixtures("quiet_logs")


class ListQueue:
    def __init__(self) -> None:
        self.items: list[Request] = []

    def add(self, item: Request) -> None:
        self.items.append(item)


class EventLog:
    """A handler that records the events it receives."""

    def __init__(self) -> None:
        self.events: list[object] = []

    def create(self, event: CreateEvent, queue: RequestQueue) -> None:
        self.events.append(event)

    def update(self, event: UpdateEvent, queue: RequestQueue) -> None:
        self.events.append(event)

    def delete(self, event: DeleteEvent, queue: RequestQueue) -> None:
        self.events.append(event)

    def generic(self, event: GenericEvent, queue: RequestQueue) -> None:
        self.events.append(event)


def obj(name: str, generation: int = 1) -> dict[str, Any]:
    return {"kind": "X", "metadata": {"name": name, "generation": generation}}


def test_events_are_adapted_in_order() -> None:
    informer = FakeInformer([obj("listed")])
    log = EventLog()
    Kind(informer, log).start(ListQueue())
    informer.add(obj("added"))
    informer.update(obj("added", 2))
    informer.delete(obj("added", 2))
    assert log.events == [
        CreateEvent(obj("listed"), is_in_initial_list=True),
        CreateEvent(obj("added"), is_in_initial_list=False),
        UpdateEvent(obj("added"), obj("added", 2)),
        DeleteEvent(obj("added", 2), delete_state_unknown=False),
    ]


def test_tombstone_becomes_delete_with_unknown_state() -> None:
    informer = FakeInformer([obj("gone")])
    log = EventLog()
    Kind(informer, log).start(ListQueue())
    informer.delete_unknown("gone", obj("gone"))
    assert log.events[-1] == DeleteEvent(obj("gone"), delete_state_unknown=True)


def test_tombstone_without_last_state_is_dropped(quiet_logs: list[dict[str, Any]]) -> None:
    informer = FakeInformer()
    q = ListQueue()
    Kind(informer, enqueue_for_object()).start(q)
    informer.delete_unknown("never-seen", None)
    assert q.items == []
    assert quiet_logs[-1]["event"] == "tombstone without last state dropped"
    assert quiet_logs[-1]["key"] == "never-seen"


def test_handler_enqueues_through_the_source() -> None:
    informer = FakeInformer([obj("a")])
    q = ListQueue()
    Kind(informer, enqueue_for_object()).start(q)
    informer.delete_unknown("a", obj("a"))
    assert q.items == [Request(name="a"), Request(name="a")]


def test_all_predicates_must_pass() -> None:
    informer = FakeInformer()
    q = ListQueue()
    not_b = Funcs(on_create=lambda e: e.obj["metadata"]["name"] != "b")
    Kind(informer, enqueue_for_object(), generation_changed(), not_b).start(q)
    informer.add(obj("a"))
    informer.add(obj("b"))
    informer.update(obj("a", 1))  # generation unchanged: filtered
    informer.update(obj("a", 2))
    informer.resync()  # resyncs have the same generation: filtered
    assert q.items == [Request(name="a"), Request(name="a")]


def test_resync_period_is_passed_to_the_informer() -> None:
    informer = FakeInformer()
    Kind(informer, enqueue_for_object(), resync_period=30.0).start(ListQueue())
    assert informer.resync_periods == [30.0]


def test_starting_twice_is_an_error() -> None:
    kind = Kind(FakeInformer(), enqueue_for_object())
    kind.start(ListQueue())
    with pytest.raises(RuntimeError, match="already started"):
        kind.start(ListQueue())


async def test_wait_for_sync_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="must be started"):
        await Kind(FakeInformer(), enqueue_for_object()).wait_for_sync()


@pytest.mark.looptime
async def test_wait_for_sync_polls_every_100_ms() -> None:
    informer = FakeInformer(synced=False)
    kind = Kind(informer, enqueue_for_object())
    kind.start(ListQueue())
    loop = asyncio.get_running_loop()
    loop.call_later(0.25, informer.mark_synced)
    await kind.wait_for_sync()
    assert loop.time() == pytest.approx(0.3)
