"""EventRecorder: Kubernetes Events about objects, aggregated, rate limited, in background.

Mirrors client-go ``tools/record`` (``event.go``'s recorder and broadcaster,
``events_cache.go``'s ``EventCorrelator``):

- ``event()`` never blocks, never raises and never does I/O: it queues the event
  (dropping it if 1000 are already queued, as upstream's broadcaster does) and a
  background task owned by the recorder writes it;
- an event identical to an earlier one (same source, object, type, reason and
  message) is not created again: the existing Event's ``count`` is raised through a
  patch (upstream ``eventObserve``); if that Event is gone (NotFound), it is created;
- a per-object token bucket (upstream spam filter: burst 25, one token per 5 minutes)
  drops events about an object that is flooding, so a hot reconcile loop cannot
  flood the API server;
- write failures are logged; only transport failures are retried (12 tries, 10 s
  apart, the first delay randomised), a rejection by the server drops the event.

Events about cluster-scoped objects (all of bgpctl's kinds) go to a configurable
namespace, ``"default"`` as upstream.

Upstream: strategic-merge patches; we send merge patches, which core/v1 accepts
identically for these scalar fields. Upstream also folds *similar* events (same
reason, different messages) into "(combined from similar events)" after 10 in 10
minutes; we do not, because our messages come from a small set of reasons and the
spam filter already bounds the volume.
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from bgpctl.runtime import clock
from bgpctl.runtime.client.errors import ApiConnectionError, is_not_found, is_retriable
from bgpctl.runtime.client.interfaces import EVENTS, KubeObject, PatchType, Writer

log = structlog.get_logger("bgpctl.runtime.recorder")

NORMAL = "Normal"
WARNING = "Warning"

MAX_QUEUED_EVENTS = 1000
MAX_CACHED_EVENTS = 4096
CLUSTER_SCOPED_EVENT_NAMESPACE = "default"
"""Where Events about cluster-scoped objects go: the API server rejects them elsewhere
("involvedObject.namespace does not match event.namespace")."""
SPAM_BURST = 25
SPAM_QPS = 1.0 / 300.0
MAX_TRIES = 12
RETRY_INTERVAL = 10.0
MAX_MESSAGE_LENGTH = 1024


@dataclass(slots=True)
class _Observed:
    """What the correlator remembers about an Event it wrote."""

    name: str
    namespace: str
    count: int
    first_timestamp: str


class _TokenBucket:
    """Token bucket on the loop clock: ``burst`` tokens, refilled at ``qps``."""

    def __init__(self, qps: float, burst: int, now: float) -> None:
        self._qps = qps
        self._burst = burst
        self._tokens = float(burst)
        self._last = now

    def try_accept(self, now: float) -> bool:
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._qps)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


def _now_rfc3339() -> str:
    # Events carry wall-clock timestamps for humans; nothing here compares them.
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class EventRecorder:
    """Records Kubernetes Events (core/v1) through a ``Writer``; see module docstring.

    Args:
        client: Needs ``create`` and ``patch`` on core/v1 events.
        component: ``source.component`` / ``reportingComponent`` (e.g. "bgpctl").
        host: ``source.host`` / ``reportingInstance``; defaults to the hostname.
        spam_burst: Events per object allowed in a burst.
        spam_qps: Refill rate of the per-object bucket, events per second.
        max_tries: Attempts per event when the server cannot be reached.
        retry_interval: Seconds between those attempts.
    """

    def __init__(
        self,
        client: Writer,
        *,
        component: str,
        host: str | None = None,
        spam_burst: int = SPAM_BURST,
        spam_qps: float = SPAM_QPS,
        max_tries: int = MAX_TRIES,
        retry_interval: float = RETRY_INTERVAL,
    ) -> None:
        self._client = client
        self._component = component
        self._host = host if host is not None else socket.gethostname()
        self._spam_burst = spam_burst
        self._spam_qps = spam_qps
        self._max_tries = max_tries
        self._retry_interval = retry_interval
        self._queue: asyncio.Queue[KubeObject] | None = None
        self._pending: list[KubeObject] = []
        self._observed: OrderedDict[tuple[str, ...], _Observed] = OrderedDict()
        self._buckets: OrderedDict[tuple[str, ...], _TokenBucket] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0

    # -- the caller's side ------------------------------------------------------------

    def event(self, obj: KubeObject, event_type: str, reason: str, message: str) -> None:
        """Queue an Event about ``obj``; returns at once and never raises.

        Args:
            obj: The involved object (needs apiVersion, kind and metadata.name).
            event_type: ``"Normal"`` or ``"Warning"``.
            reason: Short CamelCase machine-readable reason.
            message: Human-readable message (truncated to 1024 characters).
        """
        try:
            ev = self._make_event(obj, event_type, reason, message)
        except Exception as exc:
            log.error("event not recorded", reason=reason, error=str(exc))
            return
        if self._queue is None:
            if len(self._pending) < MAX_QUEUED_EVENTS:
                self._pending.append(ev)
            else:
                self.dropped += 1
            return
        try:
            self._queue.put_nowait(ev)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("event queue full, dropping event", reason=reason)

    def normal(self, obj: KubeObject, reason: str, message: str) -> None:
        """Shorthand for a ``Normal`` event."""
        self.event(obj, NORMAL, reason, message)

    def warning(self, obj: KubeObject, reason: str, message: str) -> None:
        """Shorthand for a ``Warning`` event."""
        self.event(obj, WARNING, reason, message)

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Start the writer task (owned by the recorder until ``stop``)."""
        if self._task is not None:
            raise RuntimeError("event recorder already started")
        self._queue = asyncio.Queue(maxsize=MAX_QUEUED_EVENTS)
        for ev in self._pending:
            self._queue.put_nowait(ev)
        self._pending.clear()
        self._task = asyncio.create_task(self._run(), name="event-recorder")

    async def stop(self, *, drain_timeout: float = 5.0) -> None:
        """Write what is queued (for at most ``drain_timeout`` seconds), then stop the task."""
        task, queue = self._task, self._queue
        if task is None or queue is None:
            return
        try:
            async with asyncio.timeout(drain_timeout):
                await queue.join()
        except TimeoutError:
            log.warning("event recorder stopped with events unwritten", queued=queue.qsize())
        finally:
            task.cancel()
            await asyncio.wait([task])
            self._task = None

    async def __aenter__(self) -> EventRecorder:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- the writer task ----------------------------------------------------------------

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            ev = await self._queue.get()
            try:
                await self._record(ev)
            except Exception as exc:
                log.error("event not recorded", reason=ev.get("reason"), error=str(exc))
            finally:
                self._queue.task_done()

    async def _record(self, ev: KubeObject) -> None:
        spam_key = self._object_key(ev)
        bucket = self._buckets.get(spam_key)
        if bucket is None:
            bucket = _TokenBucket(self._spam_qps, self._spam_burst, clock.now())
            self._buckets[spam_key] = bucket
            if len(self._buckets) > MAX_CACHED_EVENTS:
                self._buckets.popitem(last=False)
        if not bucket.try_accept(clock.now()):
            self.dropped += 1
            log.debug("event rate limited", reason=ev["reason"])
            return

        key = (*spam_key, ev["type"], ev["reason"], ev["message"])
        seen = self._observed.get(key)
        for attempt in range(1, self._max_tries + 1):
            try:
                written = await self._write(ev, seen)
                break
            except Exception as exc:
                if not (isinstance(exc, ApiConnectionError) or is_retriable(exc)):
                    # The server rejected it: retrying the same body cannot help.
                    log.warning("event rejected", reason=ev["reason"], error=str(exc))
                    return
                if attempt == self._max_tries:
                    log.warning("event dropped after retries", reason=ev["reason"], error=str(exc))
                    return
                # Upstream: the first retry waits a random part of the interval so that
                # many recorders losing the server together do not return together.
                delay = self._retry_interval * (random.random() if attempt == 1 else 1.0)
                await asyncio.sleep(delay)
        self._observed[key] = _Observed(
            name=written["metadata"]["name"],
            namespace=written["metadata"]["namespace"],
            count=int(written.get("count") or 1),
            first_timestamp=str(written.get("firstTimestamp") or ev["firstTimestamp"]),
        )
        self._observed.move_to_end(key)
        if len(self._observed) > MAX_CACHED_EVENTS:
            self._observed.popitem(last=False)

    async def _write(self, ev: KubeObject, seen: _Observed | None) -> KubeObject:
        if seen is not None:
            patch = {
                "count": seen.count + 1,
                "lastTimestamp": ev["lastTimestamp"],
                "message": ev["message"],
            }
            try:
                return await self._client.patch(
                    EVENTS, seen.name, patch, patch_type=PatchType.MERGE, namespace=seen.namespace
                )
            except Exception as exc:
                if not is_not_found(exc):
                    raise
                # The aggregated Event expired (TTL) or was deleted: start a new one.
        return await self._client.create(EVENTS, ev)

    # -- building -----------------------------------------------------------------------

    @staticmethod
    def _object_key(ev: KubeObject) -> tuple[str, ...]:
        ref = ev["involvedObject"]
        return (
            ev["source"]["component"],
            ev["source"].get("host", ""),
            ref.get("apiVersion", ""),
            ref["kind"],
            ref.get("namespace", ""),
            ref["name"],
            ref.get("uid", ""),
        )

    def _make_event(
        self, obj: KubeObject, event_type: str, reason: str, message: str
    ) -> KubeObject:
        meta = obj["metadata"]
        namespace = meta.get("namespace") or ""
        ref: dict[str, Any] = {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "name": meta["name"],
        }
        for field, value in (
            ("namespace", namespace),
            ("uid", meta.get("uid")),
            ("resourceVersion", meta.get("resourceVersion")),
        ):
            if value:
                ref[field] = value
        now = _now_rfc3339()
        source = {"component": self._component}
        if self._host:
            source["host"] = self._host
        return {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                # Upstream naming: object name plus a unique hex timestamp.
                "name": f"{meta['name']}.{time.time_ns():x}",
                "namespace": namespace or CLUSTER_SCOPED_EVENT_NAMESPACE,
            },
            "involvedObject": ref,
            "type": event_type,
            "reason": reason,
            "message": message[:MAX_MESSAGE_LENGTH],
            "source": source,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "reportingComponent": self._component,
            "reportingInstance": self._host,
        }
