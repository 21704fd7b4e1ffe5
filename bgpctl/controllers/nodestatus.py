"""Write one node's own entry of an object's ``status.nodes[]`` list.

Server-side apply on the status subresource with the node's field manager
(``bgpctl/<node>``): entries of different nodes never conflict, and applying an empty
list removes the node's entry (the manager stops owning it). Nothing is written when the
entry in the cached object already says the same.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

from bgpctl.runtime.client.errors import NotFound
from bgpctl.runtime.client.interfaces import ResourceType, Writer


def current_entry(obj: dict[str, Any], node: str) -> dict[str, Any] | None:
    """The node's entry in ``obj``'s ``status.nodes``, if any."""
    for entry in (obj.get("status") or {}).get("nodes") or []:
        if entry.get("node") == node:
            return dict(entry)
    return None


class NodeStatusWriter:
    """Applies a node's entries, skipping unchanged ones, a bounded number at a time."""

    def __init__(
        self, client: Writer, rt: ResourceType, *, node: str, manager: str, parallel: int = 8
    ) -> None:
        self._client = client
        self._rt = rt
        self._node = node
        self._manager = manager
        self._limit = asyncio.Semaphore(parallel)

    def needs_write(self, obj: dict[str, Any], entry: dict[str, Any] | None) -> bool:
        """True when the node's entry in ``obj`` differs from ``entry`` (None = absent)."""
        return current_entry(obj, self._node) != (
            None if entry is None else {"node": self._node, **entry}
        )

    async def write_all(
        self, changes: Iterable[tuple[dict[str, Any], dict[str, Any] | None]]
    ) -> int:
        """Apply each changed ``(object, entry)``; returns how many were written."""
        todo = [(obj, entry) for obj, entry in changes if self.needs_write(obj, entry)]
        await asyncio.gather(*(self._write(obj, entry) for obj, entry in todo))
        return len(todo)

    async def _write(self, obj: dict[str, Any], entry: dict[str, Any] | None) -> None:
        nodes = [] if entry is None else [{"node": self._node, **entry}]
        body = {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "metadata": {"name": obj["metadata"]["name"]},
            "status": {"nodes": nodes},
        }
        async with self._limit:
            with contextlib.suppress(NotFound):  # deleted meanwhile
                await self._client.status().apply(
                    self._rt, body, field_manager=self._manager, force=True
                )
