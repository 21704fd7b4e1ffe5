"""The ListerWatcher seam between a reflector and the API (or a fake of it).

Mirrors client-go ``tools/cache/listwatch.go``: ``list`` returns the items with the
collection's resourceVersion, ``watch`` streams typed events from a resourceVersion.

Upstream: the event and list types live in apimachinery; ours are defined in
``runtime.client.interfaces`` (``client`` must not import ``cache``) and re-exported
here, so cache code and fakes import them from one place.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from bgpctl.runtime.client.interfaces import (
    ListWatchClient,
    ObjectList,
    ResourceType,
    WatchEvent,
    WatchEventType,
)

__all__ = [
    "ListWatch",
    "ListerWatcher",
    "ObjectList",
    "WatchEvent",
    "WatchEventType",
]


class ListerWatcher(Protocol):
    """Lists and watches one collection."""

    async def list(self, *, resource_version: str) -> ObjectList:
        """LIST at ``resource_version`` ("" quorum read, "0" any cached state).

        Raises ``ApiError`` (``Expired`` when the RV was compacted away).
        """

    def watch(
        self, *, resource_version: str, timeout_seconds: int, allow_watch_bookmarks: bool
    ) -> AsyncIterator[WatchEvent]:
        """WATCH from ``resource_version``; ends when the server ends the stream.

        Opening failures raise ``ApiError`` on the first iteration; ERROR events
        (e.g. 410 Expired) are yielded like any other event.
        """


class ListWatch:
    """A ``ListerWatcher`` for one resource type over a ``ListWatchClient``.

    Args:
        client: Usually ``KubeClient``.
        rt: The resource type to list and watch.
        namespace: Restrict to one namespace (``None`` = all / cluster scope).
        label_selector: Server-side label filter (``"a=b,c!=d"``).
        field_selector: Server-side field filter (``"metadata.name=x"``).
    """

    def __init__(
        self,
        client: ListWatchClient,
        rt: ResourceType,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> None:
        self._client = client
        self.rt = rt
        self._namespace = namespace
        self._label_selector = label_selector
        self._field_selector = field_selector

    async def list(self, *, resource_version: str) -> ObjectList:
        """LIST the collection."""
        return await self._client.list(
            self.rt,
            namespace=self._namespace,
            label_selector=self._label_selector,
            field_selector=self._field_selector,
            resource_version=resource_version,
        )

    def watch(
        self, *, resource_version: str, timeout_seconds: int, allow_watch_bookmarks: bool
    ) -> AsyncIterator[WatchEvent]:
        """WATCH the collection."""
        return self._client.watch(
            self.rt,
            resource_version=resource_version,
            timeout_seconds=timeout_seconds,
            namespace=self._namespace,
            label_selector=self._label_selector,
            field_selector=self._field_selector,
            allow_watch_bookmarks=allow_watch_bookmarks,
        )
