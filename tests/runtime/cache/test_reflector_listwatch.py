"""Reflector: LIST then WATCH, RV bookkeeping, bookmarks, event handling, cancellation.

Re-derived from client-go ``reflector_test.go``: ``TestReflectorListAndWatch``,
``TestReflectorWatchHandler``, ``TestReflectorResourceVersionUpdate``,
``TestRunUntil``/``TestCloseWatchChannelOnError`` and the watch-timeout cases. Relist,
backoff and resync have their own modules. Left out: pagination and watch-list.
"""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from bgpctl.runtime.cache.listwatch import WatchEvent, WatchEventType
from bgpctl.testing.cache import RecordingStore, make_reflector, names, running, seeded
from bgpctl.testing.kube import make_object


@pytest.mark.looptime
async def test_first_list_asks_rv_zero_then_watches_from_the_list_rv() -> None:
    """TestReflectorListAndWatch: watch starts at the list's RV, with bookmarks."""
    lw = seeded("a", "b")
    reflector, store = make_reflector(lw)
    async with running(reflector):
        assert lw.list_calls == ["0"]
        assert [c.resource_version for c in lw.watch_calls] == ["2"]
        assert lw.watch_calls[0].allow_watch_bookmarks
        assert names(store) == ["a", "b"]
        assert reflector.last_sync_resource_version == "2"


@pytest.mark.looptime
async def test_watch_events_update_store_and_last_sync_rv() -> None:
    """TestReflectorWatchHandler: ADDED/MODIFIED/DELETED applied, RV from the last event."""
    lw = seeded("foo", "bar")
    reflector, store = make_reflector(lw)
    async with running(reflector):
        lw.delete("foo")
        lw.modify({**make_object("bar"), "spec": {"x": 1}})
        lw.add(make_object("baz"))
        await asyncio.sleep(0.01)
        assert names(store) == ["bar", "baz"]
        assert store.get_by_key("bar")["spec"] == {"x": 1}  # type: ignore[index]
        assert reflector.last_sync_resource_version == lw.resource_version == "5"


@pytest.mark.looptime
async def test_normal_end_rewatches_from_last_rv_without_relist() -> None:
    """TestReflectorListAndWatch: a closed stream resumes at the last RV, at once."""
    lw = seeded("a")
    reflector, store = make_reflector(lw)
    async with running(reflector):
        lw.add(make_object("b"))
        await asyncio.sleep(0.01)
        lw.end_watches()
        await asyncio.sleep(0.01)
        lw.add(make_object("c"))
        await asyncio.sleep(0.01)
        assert lw.list_calls == ["0"]
        assert [c.resource_version for c in lw.watch_calls] == ["1", "2"]
        assert lw.watch_calls[1].at - lw.watch_calls[0].at < 0.1
        assert names(store) == ["a", "b", "c"]


@pytest.mark.looptime
async def test_watch_timeout_spreads_between_min_and_twice_min() -> None:
    """Server-side timeouts are drawn from [min, 2·min); each expiry re-watches."""
    draws = iter([0.0, 0.5, 0.999])
    lw = seeded("a")
    reflector, _ = make_reflector(lw, min_watch_timeout=10.0, rng=lambda: next(draws))
    async with running(reflector):
        await asyncio.sleep(26.0)
        assert [c.timeout_seconds for c in lw.watch_calls] == [10, 15, 19]
        assert lw.list_calls == ["0"]


def test_default_watch_timeout_is_300_to_600() -> None:
    from bgpctl.runtime.cache.reflector import DEFAULT_MIN_WATCH_TIMEOUT

    assert DEFAULT_MIN_WATCH_TIMEOUT == 300.0


@pytest.mark.looptime
async def test_bookmark_only_advances_the_rv() -> None:
    """TestReflectorResourceVersionUpdate: bookmarks move the RV, not the store."""
    lw = seeded("a", "b")
    store = RecordingStore()
    reflector, _ = make_reflector(lw, store)
    async with running(reflector):
        lw.delete("b", drop=True)  # RV moves on without any event
        lw.bookmark()
        await asyncio.sleep(0.01)
        assert reflector.last_sync_resource_version == "3"
        assert names(store) == ["a", "b"]
        lw.add(make_object("c"))
        await asyncio.sleep(0.01)
        assert store.rv_updates == ["3", "4"]


@pytest.mark.looptime
async def test_watch_from_empty_rv_holds_rv_until_first_non_added_event() -> None:
    """Synthetic initial ADDEDs arrive out of RV order and must not move the RV."""
    lw = seeded("a", "b")
    lw.script_list([], "")
    reflector, store = make_reflector(lw)
    async with running(reflector):
        assert [c.resource_version for c in lw.watch_calls] == [""]
        assert names(store) == ["a", "b"]
        assert reflector.last_sync_resource_version == ""
        lw.modify({**make_object("a"), "spec": {"v": 2}})
        await asyncio.sleep(0.01)
        assert reflector.last_sync_resource_version == "3"


@pytest.mark.looptime
async def test_event_without_metadata_is_logged_and_skipped() -> None:
    """Per-event problems are skipped (client-go handleAnyWatch) and not counted.

    The scripted stream then ends with nothing counted, so it is a "very short watch"
    and the reflector relists after one backoff step, as upstream would.
    """
    lw = seeded("a")
    lw._watch_script.append(WatchEvent(WatchEventType.ADDED, {"nonsense": True}))
    reflector, store = make_reflector(lw)
    with capture_logs() as logs:
        async with running(reflector):
            lw.add(make_object("b"))
            await asyncio.sleep(1.0)
    assert names(store) == ["a", "b"]
    assert any(e["event"] == "watch event without metadata" for e in logs)
    assert lw.list_calls == ["0", "1"]


@pytest.mark.looptime
async def test_cancel_closes_the_open_watch() -> None:
    """TestRunUntil: stopping the reflector stops its watch."""
    lw = seeded("a")
    reflector, _ = make_reflector(lw)
    async with running(reflector) as task:
        assert lw.open_watches == 1
    assert task.cancelled()
    assert lw.open_watches == 0


@pytest.mark.looptime
async def test_cancellation_survives_a_lister_watcher_that_swallows_it() -> None:
    """A ListerWatcher turning CancelledError into another error cannot keep us running."""
    lw = seeded("a")

    class Swallowing:
        async def list(self, *, resource_version: str):  # type: ignore[no-untyped-def]
            return await lw.list(resource_version=resource_version)

        async def watch(self, **kwargs):  # type: ignore[no-untyped-def]
            try:
                async for event in lw.watch(**kwargs):
                    yield event
            except asyncio.CancelledError:
                raise RuntimeError("cleanup failed") from None

    reflector, _ = make_reflector(Swallowing())
    async with running(reflector) as task:
        await asyncio.sleep(1.0)
    assert task.cancelled()
    assert lw.list_calls == ["0"]
