"""SharedIndexInformer: delivery to handlers, sync state, late handlers, failures.

Re-derived from client-go ``shared_informer_test.go``: ``TestAddWhileActive``,
``TestSharedInformerRemoveHandler``, ``TestAddOnStoppedSharedInformer``,
``TestSharedInformerWatchDisruption``, ``TestSharedInformerErrorHandling`` (as
"handler raises"), ``TestStateSharedInformer`` and the registration ``HasSynced``
cases. Resync periods are in ``test_informer_resync.py``.
"""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from bgpctl.runtime.cache.interfaces import DeletedFinalStateUnknown
from bgpctl.testing.cache import RecordingHandler, make_informer, running, running_informer, seeded
from bgpctl.testing.kube import make_object


@pytest.mark.looptime
async def test_initial_list_then_watch_events_in_order() -> None:
    lw = seeded("a", "b")
    informer = make_informer(lw)
    handler = RecordingHandler()
    reg = informer.add_event_handler(handler)
    assert not informer.has_synced() and not reg.has_synced()
    async with running_informer(informer):
        lw.modify({**make_object("a"), "spec": {"v": 2}})
        lw.delete("b")
        lw.add(make_object("c"))
        await asyncio.sleep(0.01)
        assert reg.has_synced()
    assert sorted(handler.events[:2]) == [("add", "a", True), ("add", "b", True)]
    assert handler.events[2:] == [("update", "a"), ("delete", "b"), ("add", "c", False)]
    assert sorted(informer.indexer.list_keys()) == ["a", "c"]


@pytest.mark.looptime
async def test_registration_syncs_only_after_its_handler_got_initial_adds() -> None:
    """The informer syncs when the store has the list; a registration when delivered."""
    lw = seeded("a", "b")
    informer = make_informer(lw)
    handler = RecordingHandler()
    reg = informer.add_event_handler(handler)
    async with running(informer):
        # Step the loop one turn at a time: the first turn in which the registration
        # reports synced must already show every initial add delivered.
        for _ in range(100):
            if reg.has_synced():
                break
            assert not handler.events or informer.has_synced()
            await asyncio.sleep(0)
        assert reg.has_synced()
        assert informer.has_synced()
        assert sorted(handler.events) == [("add", "a", True), ("add", "b", True)]


@pytest.mark.looptime
async def test_late_handler_gets_synthetic_initial_adds_first() -> None:
    """TestAddWhileActive: adds for the whole store, then live events."""
    lw = seeded("a", "b")
    informer = make_informer(lw)
    async with running_informer(informer):
        late = RecordingHandler()
        reg = informer.add_event_handler(late)
        assert not reg.has_synced()  # its adds are queued, not delivered yet
        lw.add(make_object("c"))
        await asyncio.sleep(0.01)
        assert reg.has_synced()
    assert sorted(late.events[:2]) == [("add", "a", True), ("add", "b", True)]
    assert late.events[2:] == [("add", "c", False)]


@pytest.mark.looptime
async def test_handler_exception_is_logged_skipped_and_pauses_one_second() -> None:
    lw = seeded("a")
    informer = make_informer(lw)
    bad = RecordingHandler(fail_on="boom")
    good = RecordingHandler()
    informer.add_event_handler(bad)
    informer.add_event_handler(good)
    with capture_logs() as logs:
        async with running_informer(informer):
            lw.add(make_object("boom"))
            lw.add(make_object("after"))
            await asyncio.sleep(0.5)
            assert ("add", "after", False) in good.events
            assert ("add", "after", False) not in bad.events  # paused
            await asyncio.sleep(0.6)
            assert bad.events[-1] == ("add", "after", False)
    assert ("add", "boom", False) not in bad.events
    assert any(e["event"] == "event handler failed" for e in logs)


@pytest.mark.looptime
async def test_failing_initial_add_does_not_keep_registration_unsynced() -> None:
    """Deliberate difference from upstream: the failed notification still counts."""
    lw = seeded("boom")
    informer = make_informer(lw)
    reg = informer.add_event_handler(RecordingHandler(fail_on="boom"))
    with capture_logs():
        async with running_informer(informer):
            await asyncio.sleep(1.5)
            assert reg.has_synced()


@pytest.mark.looptime
async def test_removed_handler_gets_nothing_more() -> None:
    """TestSharedInformerRemoveHandler."""
    lw = seeded("a")
    informer = make_informer(lw)
    handler = RecordingHandler()
    reg = informer.add_event_handler(handler)
    async with running_informer(informer):
        await asyncio.sleep(0.01)
        informer.remove_event_handler(reg)
        informer.remove_event_handler(reg)  # twice is harmless
        lw.add(make_object("b"))
        await asyncio.sleep(0.01)
    assert handler.events == [("add", "a", True)]


@pytest.mark.looptime
async def test_add_handler_on_stopped_informer_raises() -> None:
    """TestAddOnStoppedSharedInformer."""
    informer = make_informer(seeded("a"))
    async with running_informer(informer):
        pass
    assert informer.is_stopped
    with pytest.raises(RuntimeError):
        informer.add_event_handler(RecordingHandler())
    with pytest.raises(RuntimeError):
        await informer.run()


@pytest.mark.looptime
async def test_missed_delete_arrives_as_tombstone_after_relist() -> None:
    """TestSharedInformerWatchDisruption: a relist turns a lost delete into a tombstone."""
    lw = seeded("a", "b")
    informer = make_informer(lw)
    handler = RecordingHandler()
    deleted: list[object] = []
    informer.add_event_handler(handler)
    informer.add_event_handler(
        type(
            "H",
            (),
            {
                "on_add": lambda *a: None,
                "on_update": lambda *a: None,
                "on_delete": lambda self, o: deleted.append(o),
            },
        )()
    )
    async with running_informer(informer):
        lw.delete("b", drop=True)
        lw.modify({**make_object("a"), "spec": {"v": 2}})
        lw.compact()
        lw.send_error(410, "Expired")
        await asyncio.sleep(1.0)
    assert handler.events[2:] == [("update", "a"), ("delete", "tombstone:b")]
    assert isinstance(deleted[0], DeletedFinalStateUnknown)
    assert deleted[0].obj["metadata"]["name"] == "b"  # type: ignore[index]
    assert informer.indexer.list_keys() == ["a"]
    assert lw.list_calls == ["0", "4"]


@pytest.mark.looptime
async def test_relisted_unchanged_objects_are_resync_only() -> None:
    """Replaced with the same RV goes only to handlers due for resync (none here)."""
    lw = seeded("a")
    informer = make_informer(lw)
    handler = RecordingHandler()
    informer.add_event_handler(handler)
    async with running_informer(informer):
        lw.send_error(410, "Expired")
        await asyncio.sleep(1.0)
        assert lw.list_calls == ["0", "1"]
    assert handler.events == [("add", "a", True)]


@pytest.mark.looptime
async def test_last_sync_resource_version_follows_the_reflector() -> None:
    lw = seeded("a")
    informer = make_informer(lw)
    assert informer.last_sync_resource_version == ""
    async with running_informer(informer):
        lw.add(make_object("b"))
        await asyncio.sleep(0.01)
        assert informer.last_sync_resource_version == "2"
