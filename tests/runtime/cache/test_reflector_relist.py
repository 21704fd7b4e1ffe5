"""Reflector: how each kind of watch end leads to a re-watch or a relist.

Re-derived from client-go ``reflector_test.go``: ``TestReflectorFullListIfExpired``,
``TestReflectorFullListIfTooLarge``, ``TestReflectorListAndWatchWithErrors``,
``TestRetryInternalError`` and the "very short watch" rule of ``handleAnyWatch``.
Backoff timing itself is in ``test_reflector_backoff.py``.
"""

from __future__ import annotations

import asyncio

import pytest

from bgpctl.runtime.client.errors import ServerTimeout
from bgpctl.testing.cache import make_reflector, names, running, seeded
from bgpctl.testing.kube import make_object, status_error


@pytest.mark.looptime
async def test_expired_watch_relists_at_last_rv_after_one_backoff_step() -> None:
    """410 during the watch: relist (not "") after ~0.8 s, then watch from the new RV."""
    lw = seeded("a")
    reflector, store = make_reflector(lw)
    async with running(reflector):
        lw.add(make_object("b"))
        await asyncio.sleep(0.01)
        lw.send_error(410, "Expired")
        await asyncio.sleep(0.7)
        assert lw.list_calls == ["0"]
        await asyncio.sleep(0.2)
        assert lw.list_calls == ["0", "2"]
        assert [c.resource_version for c in lw.watch_calls] == ["1", "2"]
        assert names(store) == ["a", "b"]


@pytest.mark.looptime
async def test_relist_after_compaction_retries_at_once_with_empty_rv() -> None:
    """TestReflectorFullListIfExpired: LIST at a compacted RV → LIST with ""."""
    lw = seeded("a")
    reflector, store = make_reflector(lw)
    async with running(reflector):
        lw.end_watches()  # from here on, the reflector is between watches ...
        lw.close_next_watch()  # ... and the next one is a very short one → relist
        lw.add(make_object("b"))
        lw.compact()
        await asyncio.sleep(1.0)
        assert lw.list_calls == ["0", "1", ""]
        assert reflector.last_sync_resource_version == "2"
        assert names(store) == ["a", "b"]


@pytest.mark.looptime
async def test_too_large_rv_on_list_retries_with_empty_rv() -> None:
    """TestReflectorFullListIfTooLarge."""
    lw = seeded("a")
    lw.fail_next_list(
        ServerTimeout(
            "Too large resource version",
            reason="Timeout",
            details={"causes": [{"reason": "ResourceVersionTooLarge", "message": "x"}]},
        )
    )
    reflector, store = make_reflector(lw)
    async with running(reflector):
        assert lw.list_calls == ["0", ""]
        assert names(store) == ["a"]


@pytest.mark.looptime
async def test_failing_list_is_retried_after_backoff() -> None:
    """TestReflectorListAndWatchWithErrors: a list error backs off and relists."""
    lw = seeded("a")
    lw.fail_next_list(status_error(500, "InternalError"))
    lw.fail_next_list(status_error(403, "Forbidden"))
    reflector, store = make_reflector(lw)
    async with running(reflector):
        await asyncio.sleep(0.8)
        assert lw.list_calls == ["0", "0"]
        await asyncio.sleep(1.6)
        assert lw.list_calls == ["0", "0", "0"]
        assert names(store) == ["a"]


@pytest.mark.looptime
async def test_very_short_watch_relists_after_backoff() -> None:
    """A watch closing within 1 s with no events counts as an error."""
    lw = seeded("a")
    lw.close_next_watch()
    reflector, _ = make_reflector(lw)
    async with running(reflector):
        assert lw.list_calls == ["0"]
        await asyncio.sleep(0.8)
        assert lw.list_calls == ["0", "1"]


@pytest.mark.looptime
async def test_broken_stream_after_events_rewatches_at_once() -> None:
    """A dropped connection is a normal end: resume from the last RV, no relist."""
    lw = seeded("a")
    reflector, store = make_reflector(lw)
    async with running(reflector):
        lw.add(make_object("b"))
        await asyncio.sleep(0.01)
        lw.break_watches()
        await asyncio.sleep(0.01)
        assert lw.list_calls == ["0"]
        assert [c.resource_version for c in lw.watch_calls] == ["1", "2"]


@pytest.mark.looptime
async def test_broken_stream_without_events_is_a_very_short_watch() -> None:
    """A server that resets every stream at once must not make us spin."""
    lw = seeded("a")
    reflector, _ = make_reflector(lw)
    async with running(reflector):
        lw.break_watches()
        await asyncio.sleep(0.5)
        assert len(lw.watch_calls) == 1
        await asyncio.sleep(0.5)
        assert lw.list_calls == ["0", "1"]


@pytest.mark.looptime
@pytest.mark.parametrize("retry_duration", [0.0, 60.0], ids=["default-relists", "retry-in-place"])
async def test_internal_error_is_retried_in_place_only_when_enabled(
    retry_duration: float,
) -> None:
    """TestRetryInternalError: 500s re-watch only with max_internal_error_retry_duration."""
    lw = seeded("a")
    reflector, _ = make_reflector(lw, max_internal_error_retry_duration=retry_duration)
    async with running(reflector):
        lw.add(make_object("b"))
        await asyncio.sleep(0.01)
        lw.send_error(500, "InternalError")
        await asyncio.sleep(2.0)
        expected = ["0"] if retry_duration else ["0", "2"]
        assert lw.list_calls == expected


@pytest.mark.looptime
async def test_dropped_delete_surfaces_on_relist() -> None:
    """A delete the watch never delivered disappears from the store at the next relist."""
    lw = seeded("a", "b")
    reflector, store = make_reflector(lw)
    async with running(reflector):
        lw.delete("b", drop=True)
        await asyncio.sleep(0.01)
        assert names(store) == ["a", "b"]
        lw.send_error(410, "Expired")
        await asyncio.sleep(1.0)
        assert names(store) == ["a"]
