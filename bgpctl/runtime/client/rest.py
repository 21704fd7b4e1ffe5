"""Kubernetes REST wire format: paths, query parameters, watch lines, Retry-After.

The library-free half of the kube adapter (``kube.py`` holds the half that talks
through kubernetes-asyncio). Mirrors the request building of client-go ``rest``
(``request.go``: ``URL()``, ``checkWait``) and the decoding of
``watch/streamwatcher.go``: one JSON ``{"type", "object"}`` per line.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from bgpctl.runtime.client.errors import ApiConnectionError, ApiError, TooManyRequests, from_status
from bgpctl.runtime.client.interfaces import KubeObject, ResourceType, WatchEvent, WatchEventType

MAX_RETRY_AFTER = 10.0
"""Longest ``Retry-After`` we honour, seconds."""

Query = list[tuple[str, str]]


def resource_path(
    rt: ResourceType,
    namespace: str | None,
    name: str | None = None,
    subresource: str | None = None,
) -> str:
    """``/api/v1/...`` for the core group, ``/apis/<group>/<version>/...`` otherwise."""
    parts = ["/api", rt.version] if not rt.group else ["/apis", rt.group, rt.version]
    if rt.namespaced and namespace:
        parts += ["namespaces", quote(namespace, safe="")]
    parts.append(rt.plural)
    if name is not None:
        parts.append(quote(name, safe=""))
    if subresource:
        parts.append(subresource)
    return "/".join(parts)


def typed(rt: ResourceType, obj: KubeObject) -> KubeObject:
    """Set apiVersion/kind if missing (core-group list items come without them)."""
    obj.setdefault("apiVersion", rt.api_version)
    obj.setdefault("kind", rt.kind)
    return obj


def write_query(field_manager: str | None, force: bool | None) -> Query:
    """Query of a write: ``fieldManager`` and (server-side apply only) ``force``."""
    query: Query = []
    if field_manager:
        query.append(("fieldManager", field_manager))
    if force is not None:
        query.append(("force", "true" if force else "false"))
    return query


def selector_query(label_selector: str | None, field_selector: str | None) -> Query:
    """``labelSelector`` / ``fieldSelector`` parameters, when given."""
    query: Query = []
    if label_selector:
        query.append(("labelSelector", label_selector))
    if field_selector:
        query.append(("fieldSelector", field_selector))
    return query


def retry_after_delay(err: ApiError, method: str) -> float | None:
    """How long to wait before repeating a request the server asked us to repeat.

    Like client-go's rest client: a 429 with Retry-After was not processed, so any
    verb may be repeated; a 5xx with Retry-After only for reads, which are idempotent.
    ``None`` means "do not repeat".
    """
    if err.retry_after is None:
        return None
    if isinstance(err, TooManyRequests) or (method == "GET" and err.code >= 500):
        return min(err.retry_after, MAX_RETRY_AFTER)
    return None


def status_error(body: bytes, *, code: int, reason: str) -> ApiError:
    """The error for a non-2xx answer whose body may or may not be a Status."""
    try:
        status = json.loads(body)
    except ValueError:
        status = None
    return from_status(
        status if isinstance(status, dict) else None,
        code=code,
        message=reason or body[:200].decode(errors="replace"),
    )


def parse_watch_line(rt: ResourceType, line: bytes) -> WatchEvent | None:
    """Decode one line of a watch stream; ``None`` for blank lines and unknown types.

    Raises:
        ApiError: the line is a bare Status (the server failed the stream).
        ApiConnectionError: the line is not a JSON watch event (a broken stream).
    """
    line = line.strip()
    if not line:
        return None
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise ApiConnectionError(f"undecodable watch event: {line[:200]!r}") from exc
    if not isinstance(data, dict) or "type" not in data or "object" not in data:
        if isinstance(data, dict) and "code" in data:
            raise from_status(data, code=int(data["code"]))
        raise ApiConnectionError(f"malformed watch event: {line[:200]!r}")
    try:
        etype = WatchEventType(data["type"])
    except ValueError:
        return None  # an event type newer than us: nothing we could do with it
    obj = data["object"]
    if etype in (WatchEventType.ADDED, WatchEventType.MODIFIED, WatchEventType.DELETED):
        typed(rt, obj)
    return WatchEvent(type=etype, object=obj)
