"""SharedIndexInformer resync periods and the filtering handler.

Re-derived from client-go ``shared_informer_test.go`` (``TestListenerResyncPeriods``,
``TestResyncCheckPeriod``) and ``controller_test.go``'s filtering handler semantics.
"""

from __future__ import annotations

import asyncio

import pytest

from bgpctl.runtime.cache.handlers import FilteringResourceEventHandler, ResourceEventHandlerFuncs
from bgpctl.runtime.cache.interfaces import DeletedFinalStateUnknown
from bgpctl.testing.cache import RecordingHandler, make_informer, running, running_informer, seeded
from bgpctl.testing.kube import make_object


def syncs(handler: RecordingHandler) -> list[str]:
    return sorted(e[1] for e in handler.events if e[0] == "sync")


@pytest.mark.looptime
async def test_listener_resync_periods() -> None:
    """TestListenerResyncPeriods: 1 s, 2 s and never, on a 1 s informer."""
    lw = seeded("pod1", "pod2")
    informer = make_informer(lw, resync_period=1.0)
    every1 = RecordingHandler()
    every2 = RecordingHandler()
    never = RecordingHandler()
    informer.add_event_handler(every1)
    informer.add_event_handler(every2, resync_period=2.0)
    informer.add_event_handler(never, resync_period=0)
    async with running(informer):
        await asyncio.sleep(1.05)
        assert syncs(every1) == ["pod1", "pod2"]
        assert syncs(every2) == []
        await asyncio.sleep(1.0)
        assert syncs(every1) == ["pod1", "pod1", "pod2", "pod2"]
        assert syncs(every2) == ["pod1", "pod2"]
        assert syncs(never) == []


def test_resync_check_period_rules() -> None:
    """TestResyncCheckPeriod: before start a handler lowers the check period."""
    informer = make_informer(seeded(), resync_period=60.0)
    r1 = informer.add_event_handler(RecordingHandler())
    assert informer._resync_check_period == 60.0
    assert r1._listener.resync_period == 60.0
    r2 = informer.add_event_handler(RecordingHandler(), resync_period=10.0)
    assert informer._resync_check_period == 10.0
    assert r1._listener.resync_period == 60.0  # max(requested, check)
    assert r2._listener.resync_period == 10.0
    r3 = informer.add_event_handler(RecordingHandler(), resync_period=0.2)
    assert informer._resync_check_period == 1.0  # the 1 s minimum
    assert r3._listener.resync_period == 1.0
    r4 = informer.add_event_handler(RecordingHandler(), resync_period=0)
    assert r4._listener.resync_period == 0


def test_informer_without_resync_never_resyncs_handlers() -> None:
    informer = make_informer(seeded())
    reg = informer.add_event_handler(RecordingHandler(), resync_period=5.0)
    assert reg._listener.resync_period == 0


@pytest.mark.looptime
async def test_handler_added_after_start_is_raised_to_check_period() -> None:
    informer = make_informer(seeded("a"), resync_period=10.0)
    async with running_informer(informer):
        reg = informer.add_event_handler(RecordingHandler(), resync_period=2.0)
        assert reg._listener.resync_period == 10.0


@pytest.mark.looptime
async def test_resync_skips_objects_with_pending_changes() -> None:
    lw = seeded("a")
    informer = make_informer(lw, resync_period=1.0)
    handler = RecordingHandler()
    informer.add_event_handler(handler)
    async with running(informer):
        await asyncio.sleep(1.5)
        lw.modify({**make_object("a"), "spec": {"v": 2}})
        await asyncio.sleep(0.01)
    assert handler.events == [("add", "a", True), ("sync", "a"), ("update", "a")]


def test_filtering_handler_turns_updates_into_adds_and_deletes() -> None:
    inner = RecordingHandler()
    selected = FilteringResourceEventHandler(
        lambda o: o["metadata"].get("labels", {}).get("tier") == "edge", inner
    )
    edge = make_object("x", labels={"tier": "edge"})
    core = make_object("x", labels={"tier": "core"})
    edge["metadata"]["resourceVersion"] = "1"
    core["metadata"]["resourceVersion"] = "2"
    selected.on_add(core, True)
    selected.on_update(core, edge)
    selected.on_update(edge, {**edge, "metadata": {**edge["metadata"], "resourceVersion": "3"}})
    selected.on_update(edge, core)
    selected.on_update(core, core)
    selected.on_delete(core)
    selected.on_delete(DeletedFinalStateUnknown(key="x", obj=edge))
    selected.on_delete(DeletedFinalStateUnknown(key="y", obj=None))
    assert inner.events == [
        ("add", "x", False),
        ("update", "x"),
        ("delete", "x"),
        ("delete", "tombstone:x"),
        ("delete", "tombstone:y"),
    ]


def test_handler_funcs_ignore_missing_callables() -> None:
    seen: list[str] = []
    h = ResourceEventHandlerFuncs(add_func=lambda o, i: seen.append("add"))
    h.on_add(make_object("a"), False)
    h.on_update(make_object("a"), make_object("a"))
    h.on_delete(make_object("a"))
    assert seen == ["add"]
