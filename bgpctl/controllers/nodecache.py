"""The informer cache of a node agent: only what concerns its node.

- **Sessions**: only those naming this node, selected by the API server with two
  field selectors (``spec.localEndpoint=<node>``, ``spec.remoteEndpoint=<node>``; the
  CRD declares both ``selectableFields``), merged into one informer
  (:class:`~bgpctl.runtime.cache.union.UnionInformer`). A node with 10 sessions holds
  10 sessions whether the cluster has 100 or 100,000.
- **Endpoints**: every endpoint, because a node's sessions may name any of them and a
  field selector cannot say "one of these names"; a transform keeps only what the
  agent reads (name, labels, generation, resourceVersion, uid, deletionTimestamp and
  ``spec``) and drops ``managedFields``, annotations and ``status``.
- **Configuration, advertisements, route policies**: cluster-wide and few, but every
  node writes its own ``status.nodes[]`` entry (and, by server-side apply, its own
  ``managedFields`` entry) on each: a transform keeps only this node's entry and drops
  ``managedFields``, so these objects do not grow with the number of nodes either.

:func:`cluster_cache` is the cache of the cluster-wide controllers (``bgp operator``,
and ``bgp run`` in its all-in-one mode): every session, endpoints transformed alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bgpctl.controllers.resources import (
    BGP_ADVERTISEMENTS,
    BGP_CONFIGURATIONS,
    BGP_ENDPOINTS,
    BGP_ROUTE_POLICIES,
    BGP_SESSIONS,
)
from bgpctl.runtime.cache.informers import InformerCache, Selection
from bgpctl.runtime.client.interfaces import ListWatchClient

_KEPT_METADATA = ("name", "uid", "resourceVersion", "generation", "labels", "deletionTimestamp")


def slim_endpoint(obj: dict[str, Any]) -> dict[str, Any]:
    """An endpoint with only the fields the controllers read (idempotent)."""
    meta = obj.get("metadata") or {}
    out: dict[str, Any] = {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": {k: meta[k] for k in _KEPT_METADATA if k in meta},
    }
    if "spec" in obj:
        out["spec"] = obj["spec"]
    return out


def own_status_only(local_endpoint: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A transform keeping only ``local_endpoint``'s ``status.nodes[]`` entry (idempotent)."""

    def transform(obj: dict[str, Any]) -> dict[str, Any]:
        meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
        out = {**obj, "metadata": meta}
        status = obj.get("status")
        if isinstance(status, dict) and "nodes" in status:
            nodes = [n for n in status.get("nodes") or [] if n.get("node") == local_endpoint]
            out["status"] = {**status, "nodes": nodes}
        return out

    return transform


def session_selections(local_endpoint: str) -> tuple[Selection, Selection]:
    """The two server-side selections of this node's sessions."""
    return (
        Selection(field_selector=f"spec.localEndpoint={local_endpoint}"),
        Selection(field_selector=f"spec.remoteEndpoint={local_endpoint}"),
    )


def node_cache(client: ListWatchClient, local_endpoint: str) -> InformerCache:
    """The cache of a node agent that runs no cluster-wide controller."""
    own = own_status_only(local_endpoint)
    return InformerCache.for_client(
        client,
        selections={BGP_SESSIONS: session_selections(local_endpoint)},
        transforms={
            BGP_ENDPOINTS: slim_endpoint,
            BGP_CONFIGURATIONS: own,
            BGP_ADVERTISEMENTS: own,
            BGP_ROUTE_POLICIES: own,
        },
    )


def cluster_cache(client: ListWatchClient) -> InformerCache:
    """The cache of the cluster-wide controllers (every session)."""
    return InformerCache.for_client(client, transforms={BGP_ENDPOINTS: slim_endpoint})
