"""Seams of the API client: resource identity, list/watch results, reader and writers.

Mirrors controller-runtime ``pkg/client/interfaces.go`` (Reader, Writer, SubResourceWriter)
and the list/watch result types of apimachinery (``metav1.List``, ``watch.Event``).

Upstream: objects are typed Go structs and a RESTMapper finds the endpoint; we pass raw
JSON ``dict`` objects plus a small :class:`ResourceType` naming group, version, plural
and scope, because the runtime knows nothing about the kinds it serves and a static
identity is cheaper than discovery.

Upstream: the list/watch result types live in apimachinery, below both client and
cache. They are defined here (not in ``cache``) because ``client`` must never import
``cache``; ``cache.listwatch`` re-exports them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

KubeObject = dict[str, Any]
"""A raw Kubernetes object (apiVersion, kind, metadata, spec, status)."""


@dataclass(frozen=True, slots=True)
class ResourceType:
    """Identity of one REST resource: where it lives and what kind it holds.

    Attributes:
        group: API group; ``""`` is the legacy core group (served under ``/api``).
        version: API version inside the group, e.g. ``"v1alpha1"``.
        plural: Resource name in URLs, e.g. ``"bgpsessions"``.
        kind: Object kind, e.g. ``"BGPSession"``.
        namespaced: Whether objects live in a namespace.
    """

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        """The ``apiVersion`` string of objects of this type (``v1`` or ``group/v1``)."""
        return f"{self.group}/{self.version}" if self.group else self.version

    def __str__(self) -> str:
        return (
            f"{self.plural}.{self.version}.{self.group}"
            if self.group
            else (f"{self.plural}.{self.version}")
        )


EVENTS = ResourceType(group="", version="v1", plural="events", kind="Event", namespaced=True)
NAMESPACES = ResourceType(
    group="", version="v1", plural="namespaces", kind="Namespace", namespaced=False
)
LEASES = ResourceType(
    group="coordination.k8s.io", version="v1", plural="leases", kind="Lease", namespaced=True
)


class WatchEventType(StrEnum):
    """Type of a watch event, as sent by the API server."""

    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    BOOKMARK = "BOOKMARK"
    ERROR = "ERROR"


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One event of a watch stream.

    ``object`` is the object for ADDED/MODIFIED/DELETED, an object carrying only
    ``metadata.resourceVersion`` for BOOKMARK, and a ``metav1.Status`` for ERROR.
    """

    type: WatchEventType
    object: KubeObject


@dataclass(frozen=True, slots=True)
class ObjectList:
    """Result of a LIST: the items and the collection's resourceVersion."""

    items: list[KubeObject]
    resource_version: str


class PatchType(StrEnum):
    """Patch strategies, named by their content type."""

    JSON = "application/json-patch+json"
    MERGE = "application/merge-patch+json"
    STRATEGIC_MERGE = "application/strategic-merge-patch+json"
    APPLY = "application/apply-patch+yaml"


@dataclass(frozen=True, slots=True)
class Preconditions:
    """Delete preconditions: the delete fails with Conflict if they do not hold."""

    uid: str | None = None
    resource_version: str | None = None


class Reader(Protocol):
    """Reads objects (from the API server or from the informer cache)."""

    async def get(self, rt: ResourceType, name: str, *, namespace: str | None = None) -> KubeObject:
        """Return one object; raises ``NotFound`` if it does not exist."""

    async def list(
        self,
        rt: ResourceType,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
    ) -> ObjectList:
        """Return the objects of a type, optionally in one namespace and matching labels."""


class SubResourceWriter(Protocol):
    """Replaces, patches and applies: objects, or one subresource of them (``status()``)."""

    async def update(self, rt: ResourceType, obj: KubeObject) -> KubeObject:
        """Replace ``obj`` (PUT); raises ``Conflict`` on a stale resourceVersion."""

    async def patch(
        self,
        rt: ResourceType,
        name: str,
        patch: Any,
        *,
        patch_type: PatchType,
        namespace: str | None = None,
        field_manager: str | None = None,
        force: bool | None = None,
    ) -> KubeObject:
        """Patch an object with the given strategy."""

    async def apply(
        self, rt: ResourceType, obj: KubeObject, *, field_manager: str, force: bool = False
    ) -> KubeObject:
        """Server-side apply ``obj`` as ``field_manager``; raises ``Conflict`` unless forced."""


class Writer(SubResourceWriter, Protocol):
    """Creates, changes and deletes objects. Every call raises ``ApiError`` subclasses."""

    async def create(self, rt: ResourceType, obj: KubeObject) -> KubeObject:
        """Create ``obj``; raises ``AlreadyExists`` or ``Invalid``."""

    async def delete(
        self,
        rt: ResourceType,
        name: str,
        *,
        namespace: str | None = None,
        propagation_policy: str | None = None,
        preconditions: Preconditions | None = None,
    ) -> KubeObject:
        """Delete an object; returns what the server returned (object or Status)."""

    def status(self) -> SubResourceWriter:
        """The same ``update``/``patch``/``apply``, on the ``status`` subresource.

        The server ignores every field but ``status`` there, and changes nothing but it.
        """


class ListWatchClient(Protocol):
    """The two calls a reflector needs, for any resource type."""

    async def list(
        self,
        rt: ResourceType,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str = "",
    ) -> ObjectList:
        """LIST with resourceVersion semantics ("" = quorum read, "0" = any cached)."""

    def watch(
        self,
        rt: ResourceType,
        *,
        resource_version: str,
        timeout_seconds: int,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        allow_watch_bookmarks: bool = True,
    ) -> AsyncIterator[WatchEvent]:
        """WATCH from ``resource_version``; the iterator ends when the server closes it.

        Failing to open the stream or losing it raises ``ApiError``; ERROR events
        (410 Expired and friends) are yielded as events, never raised.
        """
