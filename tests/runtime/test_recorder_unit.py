"""EventRecorder with an in-memory writer: aggregation, spam filter, retries, lifecycle.

Re-derived from client-go ``tools/record/event_test.go`` (``TestEventf``,
``TestWriteEventError``, ``TestMultiSinkCache``) and ``events_cache_test.go``
(``TestEventCorrelator`` spam filter rows). Server behaviour (the real count patch)
is in ``test_recorder_integration.py``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bgpctl.runtime.client.errors import ApiConnectionError, Invalid, NotFound
from bgpctl.runtime.client.interfaces import EVENTS, PatchType, ResourceType
from bgpctl.runtime.recorder import EventRecorder


class FakeEventWriter:
    """Stores Events in a dict; scripted failures pop from ``failures``."""

    def __init__(self) -> None:
        self.events: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls: list[str] = []
        self.failures: list[Exception] = []

    def _fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    async def create(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        assert rt is EVENTS
        self.calls.append("create")
        self._fail()
        key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
        self.events[key] = dict(obj)
        return dict(obj)

    async def patch(self, rt, name, patch, *, patch_type, namespace=None, **kw):  # type: ignore[no-untyped-def]
        assert rt is EVENTS and patch_type is PatchType.MERGE
        self.calls.append("patch")
        self._fail()
        if (namespace, name) not in self.events:
            raise NotFound("gone", reason="NotFound")
        self.events[(namespace, name)].update(patch)
        return dict(self.events[(namespace, name)])


SESSION = {
    "apiVersion": "bgp.miloapis.com/v1alpha1",
    "kind": "BGPSession",
    "metadata": {"name": "s1", "uid": "u-1", "resourceVersion": "7"},
}
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns1"}}


async def settle(recorder: EventRecorder) -> None:
    await recorder.stop()


async def test_event_fields_for_cluster_scoped_object() -> None:
    sink = FakeEventWriter()
    recorder = EventRecorder(sink, component="bgpctl", host="node-a")
    await recorder.start()
    recorder.warning(SESSION, "InvalidPeer", "peer address is not an IP")
    await settle(recorder)
    [(ns, name)] = sink.events
    ev = sink.events[(ns, name)]
    assert ns == "default" and name.startswith("s1.")
    assert ev["involvedObject"] == {
        "apiVersion": "bgp.miloapis.com/v1alpha1",
        "kind": "BGPSession",
        "name": "s1",
        "uid": "u-1",
        "resourceVersion": "7",
    }
    assert (ev["type"], ev["reason"], ev["count"]) == ("Warning", "InvalidPeer", 1)
    assert ev["source"] == {"component": "bgpctl", "host": "node-a"}


async def test_namespaced_object_events_go_to_its_namespace() -> None:
    sink = FakeEventWriter()
    async with EventRecorder(sink, component="c", host="h") as recorder:
        recorder.normal(POD, "Started", "ok")
    assert [ns for ns, _ in sink.events] == ["ns1"]


async def test_identical_events_are_aggregated_by_count_patch() -> None:
    """TestEventf (repeated event → count++ on the same Event)."""
    sink = FakeEventWriter()
    async with EventRecorder(sink, component="c", host="h") as recorder:
        for _ in range(3):
            recorder.warning(SESSION, "InvalidPeer", "same")
        recorder.warning(SESSION, "InvalidPeer", "different message")
    assert sink.calls == ["create", "patch", "patch", "create"]
    counts = sorted((e["message"], e["count"]) for e in sink.events.values())
    assert counts == [("different message", 1), ("same", 3)]


async def test_aggregated_event_that_vanished_is_created_again() -> None:
    sink = FakeEventWriter()
    async with EventRecorder(sink, component="c", host="h") as recorder:
        recorder.warning(SESSION, "R", "m")
        await asyncio.sleep(0.01)
        sink.events.clear()
        recorder.warning(SESSION, "R", "m")
    assert sink.calls == ["create", "patch", "create"]


@pytest.mark.looptime
async def test_spam_filter_bounds_a_hot_loop_per_object() -> None:
    """TestEventCorrelator: burst 25, then one per 5 minutes, per object."""
    sink = FakeEventWriter()
    recorder = EventRecorder(sink, component="c", host="h")
    await recorder.start()
    for i in range(100):
        recorder.warning(SESSION, "Flap", f"flap {i}")
    recorder.warning(POD, "Other", "another object has its own bucket")
    await asyncio.sleep(1.0)
    assert len(sink.calls) == 26
    assert recorder.dropped == 75
    await asyncio.sleep(300.0)
    recorder.warning(SESSION, "Flap", "after the refill")
    await recorder.stop()
    assert len(sink.calls) == 27


@pytest.mark.looptime
async def test_unreachable_server_is_retried_then_succeeds() -> None:
    """TestWriteEventError: connection errors are retried, rejections are not."""
    sink = FakeEventWriter()
    sink.failures = [ApiConnectionError("refused"), ApiConnectionError("refused")]
    recorder = EventRecorder(sink, component="c", host="h", retry_interval=10.0)
    await recorder.start()
    recorder.normal(SESSION, "R", "m")
    await asyncio.sleep(25.0)
    await recorder.stop()
    assert sink.calls == ["create"] * 3
    assert len(sink.events) == 1


@pytest.mark.looptime
async def test_rejected_event_is_dropped_without_retry() -> None:
    sink = FakeEventWriter()
    sink.failures = [Invalid("bad", reason="Invalid")]
    async with EventRecorder(sink, component="c", host="h") as recorder:
        recorder.normal(SESSION, "R", "m")
        await asyncio.sleep(1.0)
    assert sink.calls == ["create"]
    assert sink.events == {}


@pytest.mark.looptime
async def test_gives_up_after_max_tries() -> None:
    sink = FakeEventWriter()
    sink.failures = [ApiConnectionError("down")] * 5
    async with EventRecorder(sink, component="c", host="h", max_tries=3, retry_interval=1.0) as rec:
        rec.normal(SESSION, "R", "m")
        await asyncio.sleep(5.0)
    assert sink.calls == ["create"] * 3


async def test_bad_object_is_logged_never_raised() -> None:
    sink = FakeEventWriter()
    async with EventRecorder(sink, component="c", host="h") as recorder:
        recorder.normal({"metadata": {}}, "R", "m")
    assert sink.calls == []


async def test_events_before_start_are_written_after_start() -> None:
    sink = FakeEventWriter()
    recorder = EventRecorder(sink, component="c", host="h")
    recorder.normal(SESSION, "Early", "queued before the loop task exists")
    async with recorder:
        pass
    assert sink.calls == ["create"]


async def test_long_messages_are_truncated() -> None:
    sink = FakeEventWriter()
    async with EventRecorder(sink, component="c", host="h") as recorder:
        recorder.normal(SESSION, "R", "x" * 5000)
    [ev] = sink.events.values()
    assert len(ev["message"]) == 1024
