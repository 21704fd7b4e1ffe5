"""Reflector backoff and resync: exact virtual delays, 429/refused.

Re-derived from client-go ``reflector_test.go`` (``TestBackoffOnTooManyRequests``,
``TestNoRelistOnTooManyRequests``, ``TestReflectorListAndWatchInitConnBackoff``,
``TestReflectorResync``). The schedule itself is in ``tests/runtime/test_backoff.py``.
"""

from __future__ import annotations

import asyncio

import pytest

from bgpctl.runtime.client.errors import ConnectionRefused, TooManyRequests
from bgpctl.testing.cache import RecordingStore, make_reflector, running, seeded


@pytest.mark.looptime
@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefused("connection refused"),
        TooManyRequests("slow down", reason="TooManyRequests"),
    ],
    ids=["connection-refused", "too-many-requests"],
)
async def test_refused_or_throttled_watch_backs_off_without_relist(error: Exception) -> None:
    """TestNoRelistOnTooManyRequests / TestReflectorListAndWatchInitConnBackoff."""
    lw = seeded("a")
    lw.fail_next_watch(error)
    lw.fail_next_watch(error)
    lw.fail_next_watch(error)
    reflector, _ = make_reflector(lw)
    async with running(reflector):
        await asyncio.sleep(30.0)
        starts = [round(c.at - lw.watch_calls[0].at, 3) for c in lw.watch_calls]
        assert starts == [0.0, 0.8, 2.4, 5.6]
        assert lw.list_calls == ["0"]
        assert [c.resource_version for c in lw.watch_calls] == ["1"] * 4


@pytest.mark.looptime
async def test_429_error_event_backs_off_and_rewatches() -> None:
    """TestBackoffOnTooManyRequests, as an ERROR event inside the stream."""
    lw = seeded("a")
    reflector, _ = make_reflector(lw)
    async with running(reflector):
        lw.send_error(429, "TooManyRequests")
        await asyncio.sleep(0.7)
        assert len(lw.watch_calls) == 1
        await asyncio.sleep(0.2)
        assert len(lw.watch_calls) == 2
        assert lw.list_calls == ["0"]


@pytest.mark.looptime
async def test_resync_ticks_every_period_while_watching() -> None:
    """TestReflectorResync."""
    lw = seeded("a")
    store = RecordingStore()
    reflector, _ = make_reflector(lw, store, resync_period=5.0)
    async with running(reflector):
        await asyncio.sleep(12.0)
        assert store.resyncs == 2


@pytest.mark.looptime
async def test_resync_asks_should_resync() -> None:
    lw = seeded("a")
    store = RecordingStore()
    reflector, _ = make_reflector(lw, store, resync_period=5.0, should_resync=lambda: False)
    async with running(reflector):
        await asyncio.sleep(12.0)
        assert store.resyncs == 0
