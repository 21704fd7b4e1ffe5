"""FakeListerWatcher: a scriptable in-memory API collection for reflector/informer tests.

Mirrors the role of client-go ``tools/cache/testing/fake_controller_source.go``
(``FakeControllerSource``): objects live in a dict with an integer resourceVersion
counter and an event history, LIST answers with the current state and RV, WATCH
replays history after the requested RV and then streams live changes, like the API
server's watch cache. On top of that, failures can be scripted:

- ``compact()`` forgets history: LIST or WATCH at an older RV answers 410 Expired;
- ``send_error(code)`` pushes an ERROR event into open watches (then ends them);
- ``fail_next_list`` / ``fail_next_watch`` raise on the next call (e.g.
  ``ConnectionRefused``, ``TooManyRequests``); ``close_next_watch`` ends the next
  watch at once with no events; ``script_list`` returns a chosen list and RV;
- ``end_watches`` ends open streams as a server timeout would; ``break_watches``
  fails them as a dropped connection would;
- ``delete(..., drop=True)`` deletes without telling any watcher, so only a relist
  can notice (as a ``DeletedFinalStateUnknown``).

Watches honour ``timeout_seconds`` on the event loop clock (``looptime``-friendly).
"""

from __future__ import annotations

import asyncio
import copy
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from bgpctl.runtime import clock
from bgpctl.runtime.cache.interfaces import KubeObject
from bgpctl.runtime.cache.keys import object_key
from bgpctl.runtime.cache.listwatch import ObjectList, WatchEvent, WatchEventType
from bgpctl.runtime.client.errors import ApiConnectionError, ApiError, Expired, from_status


@dataclass(frozen=True, slots=True)
class WatchCall:
    """Parameters of one ``watch`` call, recorded in ``watch_calls``."""

    resource_version: str
    timeout_seconds: int
    allow_watch_bookmarks: bool
    at: float


class _Close:
    """Script entry: end the stream with no events."""


CLOSE = _Close()
_END = object()


def make_object(
    name: str,
    *,
    namespace: str | None = None,
    kind: str = "Widget",
    api_version: str = "example.com/v1",
    labels: dict[str, str] | None = None,
    spec: dict[str, Any] | None = None,
) -> KubeObject:
    """A minimal object for tests."""
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(labels)
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, "spec": spec or {}}


def expired_status(message: str = "too old resource version") -> KubeObject:
    """The Status of a 410 Expired, as an ERROR event carries it."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": "Expired",
        "code": 410,
    }


class FakeListerWatcher:
    """An in-memory collection implementing ``ListerWatcher`` (see module docstring).

    Args:
        copy_objects: Hand out deep copies, as a real server (which serialises)
            does. Benchmarks turn it off.
    """

    def __init__(self, *, copy_objects: bool = True) -> None:
        self._copy = copy_objects
        self.objects: dict[str, KubeObject] = {}
        self._rv = 0
        self._history: list[tuple[int, WatchEvent]] = []
        self._compacted = 0
        self._streams: list[asyncio.Queue[Any]] = []
        self.list_calls: list[str] = []
        self.watch_calls: list[WatchCall] = []
        self._list_script: deque[ObjectList | BaseException] = deque()
        self._watch_script: deque[BaseException | WatchEvent | _Close] = deque()

    # -- state ----------------------------------------------------------------------

    @property
    def resource_version(self) -> str:
        """The current (latest) resourceVersion."""
        return str(self._rv)

    @property
    def open_watches(self) -> int:
        """Number of watch streams currently open."""
        return len(self._streams)

    def add(self, obj: KubeObject) -> KubeObject:
        """Create an object (stamped with the next RV) and emit ADDED."""
        return self._write(WatchEventType.ADDED, obj)

    def modify(self, obj: KubeObject) -> KubeObject:
        """Replace an object (next RV) and emit MODIFIED."""
        if object_key(obj) not in self.objects:
            raise KeyError(object_key(obj))
        return self._write(WatchEventType.MODIFIED, obj)

    def delete(self, key: str, *, drop: bool = False) -> KubeObject:
        """Delete by key and emit DELETED, unless ``drop`` hides it from every watcher."""
        obj = self.objects.pop(key)
        self._rv += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self._rv)
        if not drop:
            self._emit(self._rv, WatchEvent(WatchEventType.DELETED, obj))
        return obj

    def bookmark(self) -> None:
        """Send a BOOKMARK at the current RV to open watches."""
        event = WatchEvent(
            WatchEventType.BOOKMARK,
            {"kind": "Bookmark", "metadata": {"resourceVersion": str(self._rv)}},
        )
        for queue in self._streams:
            queue.put_nowait(event)

    def compact(self) -> int:
        """Forget history up to now: older RVs answer 410. Returns the compacted RV."""
        self._compacted = self._rv
        self._history.clear()
        return self._rv

    def end_watches(self) -> None:
        """End open watches normally (as the server-side timeout does)."""
        for queue in self._streams:
            queue.put_nowait(_END)

    def break_watches(self, exc: BaseException | None = None) -> None:
        """Fail open watches with ``exc`` (default: a dropped connection)."""
        for queue in self._streams:
            queue.put_nowait(exc or ApiConnectionError("connection reset by peer"))

    def send_error(self, code: int = 410, reason: str = "Expired", message: str = "") -> None:
        """Send an ERROR event with a Status to open watches, then end them."""
        status = {**expired_status(message or reason), "code": code, "reason": reason}
        for queue in self._streams:
            queue.put_nowait(WatchEvent(WatchEventType.ERROR, status))
            queue.put_nowait(_END)

    # -- scripting ------------------------------------------------------------------

    def script_list(self, items: list[KubeObject], resource_version: str) -> None:
        """The next LIST returns exactly these items and RV."""
        self._list_script.append(ObjectList(items=items, resource_version=resource_version))

    def fail_next_list(self, exc: BaseException) -> None:
        """The next LIST raises ``exc``."""
        self._list_script.append(exc)

    def fail_next_watch(self, exc: BaseException) -> None:
        """The next WATCH raises ``exc`` when opened."""
        self._watch_script.append(exc)

    def close_next_watch(self) -> None:
        """The next WATCH ends at once without any event."""
        self._watch_script.append(CLOSE)

    def error_next_watch(self, status: KubeObject) -> None:
        """The next WATCH yields one ERROR event with ``status`` and ends."""
        self._watch_script.append(WatchEvent(WatchEventType.ERROR, status))

    # -- ListerWatcher ----------------------------------------------------------------

    async def list(self, *, resource_version: str) -> ObjectList:
        """LIST: scripted answer, else 410 for a compacted RV, else the current state."""
        self.list_calls.append(resource_version)
        await asyncio.sleep(0)
        if self._list_script:
            scripted = self._list_script.popleft()
            if isinstance(scripted, BaseException):
                raise scripted
            return scripted
        if self._too_old(resource_version):
            raise Expired("too old resource version", reason="Expired")
        items = [self._out(obj) for obj in self.objects.values()]
        return ObjectList(items=items, resource_version=str(self._rv))

    async def watch(
        self, *, resource_version: str, timeout_seconds: int, allow_watch_bookmarks: bool
    ) -> AsyncIterator[WatchEvent]:
        """WATCH: replay after ``resource_version``, then live events until timeout."""
        self.watch_calls.append(
            WatchCall(resource_version, timeout_seconds, allow_watch_bookmarks, clock.now())
        )
        if self._watch_script:
            scripted = self._watch_script.popleft()
            if isinstance(scripted, BaseException):
                raise scripted
            if isinstance(scripted, WatchEvent):
                yield scripted
            return
        if self._too_old(resource_version):
            yield WatchEvent(WatchEventType.ERROR, expired_status())
            return
        queue: asyncio.Queue[Any] = asyncio.Queue()
        # Register and snapshot without yielding in between: no event is lost or doubled.
        self._streams.append(queue)
        if resource_version in ("", "0"):
            backlog = [WatchEvent(WatchEventType.ADDED, obj) for obj in self.objects.values()]
        else:
            start = int(resource_version)
            backlog = [event for rv, event in self._history if rv > start]
        deadline = clock.now() + timeout_seconds
        try:
            for event in backlog:
                yield WatchEvent(event.type, self._out(event.object))
            while True:
                remaining = deadline - clock.now()
                if remaining <= 0:
                    return
                try:
                    item = await asyncio.wait_for(queue.get(), remaining)
                except TimeoutError:
                    return
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield WatchEvent(item.type, self._out(item.object))
        finally:
            self._streams.remove(queue)

    # -- internals ----------------------------------------------------------------

    def _too_old(self, resource_version: str) -> bool:
        return resource_version not in ("", "0") and int(resource_version) < self._compacted

    def _out(self, obj: KubeObject) -> KubeObject:
        return copy.deepcopy(obj) if self._copy else obj

    def _write(self, etype: WatchEventType, obj: KubeObject) -> KubeObject:
        self._rv += 1
        obj = copy.deepcopy(obj) if self._copy else obj
        obj.setdefault("metadata", {})["resourceVersion"] = str(self._rv)
        self.objects[object_key(obj)] = obj
        self._emit(self._rv, WatchEvent(etype, obj))
        return obj

    def _emit(self, rv: int, event: WatchEvent) -> None:
        self._history.append((rv, event))
        for queue in self._streams:
            queue.put_nowait(event)


def status_error(code: int, reason: str, message: str = "") -> ApiError:
    """Build the ``ApiError`` a server would raise for this code and reason."""
    return from_status({"code": code, "reason": reason, "message": message or reason})
