"""GoneEndpointReconciler (leader only): what a deleted BGPEndpoint leaves behind.

A node is gone when its BGPEndpoint is deleted. Its agent (if it still runs) stops
acting for it, so nobody would ever remove what the node wrote; the elected leader does:

* on every session, the finalizer ``bgp.miloapis.com/session-<endpoint>`` of a gone
  endpoint (so deleting the session never hangs on it), and
* on every session, the ``status.endpoints[]`` entries of gone endpoints and of
  endpoints that are no longer one of the session's two ends (with ``maxItems: 2``, a
  stale entry would make the new end's apply fail with 422 forever);
* on the configuration ``default``, the ``status.nodes[]`` entries of gone endpoints.

"Gone" is confirmed with a live GET (404) of the endpoint, never from the cache alone,
so an endpoint the leader's cache has not seen yet is never treated as gone. Writes are
merge patches carrying ``resourceVersion`` (a concurrent change is a conflict and a
retry, never an overwrite); nothing is written when nothing is stale.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import structlog

from bgpctl.controllers.resources import (
    BGP_CONFIGURATIONS,
    BGP_ENDPOINTS,
    BGP_SESSIONS,
    CONFIGURATION_NAME,
)
from bgpctl.controllers.sessionpeer import FINALIZER_PREFIX
from bgpctl.runtime.builder import Builder
from bgpctl.runtime.cache.informers import InformerCache
from bgpctl.runtime.client.errors import NotFound
from bgpctl.runtime.client.interfaces import PatchType, Reader, Writer
from bgpctl.runtime.controller import Controller, ControllerOptions
from bgpctl.runtime.handler import enqueue_from_map_func
from bgpctl.runtime.manager import Manager
from bgpctl.runtime.predicate import Funcs
from bgpctl.runtime.reconcile import Request, Result
from bgpctl.runtime.runnable import Rebuilding

log = structlog.get_logger(__name__)

FIELD_MANAGER = "bgpctl-gone-endpoints"
CONFIGURATION_REQUEST = "bgpconfiguration/default"
"""Request name of the configuration's pruning (``/`` is never in a session's name)."""


class GoneWriter(Reader, Writer, Protocol):
    """What the reconciler reads and writes through (``KubeClient``)."""


class GoneEndpointReconciler:
    """Removes gone endpoints' finalizers and status entries; see the module docstring.

    Reconciles BGPSession names, and the configuration under the request name
    ``CONFIGURATION_REQUEST``.
    """

    def __init__(self, *, cache: InformerCache, client: GoneWriter) -> None:
        self._cache = cache
        self._client = client

    def map_endpoint(self, obj: dict[str, Any]) -> list[Request]:
        """Endpoint events -> every session naming it, holding its finalizer or its entry."""
        name = (obj.get("metadata") or {}).get("name")
        out = [
            Request(name=s["metadata"]["name"])
            for s in self._cache.get_informer(BGP_SESSIONS).indexer.list()
            if name in _endpoints_mentioned(s)
        ]
        return [*out, Request(name=CONFIGURATION_REQUEST)]

    async def reconcile(self, request: Request) -> Result:
        """See the module docstring."""
        if request.name == CONFIGURATION_REQUEST:
            await self.prune_configuration()
            return Result()
        try:
            raw = await self._cache.get(BGP_SESSIONS, request.name)
        except NotFound:
            return Result()
        mentioned = _endpoints_mentioned(raw)
        gone = {name for name in mentioned if await self._gone(name)}
        await self._prune_finalizers(raw, gone)
        await self._prune_entries(raw, gone)
        return Result()

    async def prune_configuration(self) -> None:
        """Drop ``status.nodes[]`` entries of gone endpoints from the configuration."""
        try:
            raw = await self._client.get(BGP_CONFIGURATIONS, CONFIGURATION_NAME)
        except NotFound:
            return
        nodes = (raw.get("status") or {}).get("nodes") or []
        kept = [n for n in nodes if not await self._gone(str(n.get("node")))]
        if len(kept) == len(nodes):
            return
        patch = {
            "metadata": {"resourceVersion": raw["metadata"]["resourceVersion"]},
            "status": {"nodes": kept},
        }
        await self._client.status().patch(
            BGP_CONFIGURATIONS,
            CONFIGURATION_NAME,
            patch,
            patch_type=PatchType.MERGE,
            field_manager=FIELD_MANAGER,
        )
        log.info("pruned gone nodes from the configuration status", removed=len(nodes) - len(kept))

    async def _gone(self, endpoint: str) -> bool:
        try:
            await self._cache.get(BGP_ENDPOINTS, endpoint)
            return False
        except NotFound:
            pass
        try:  # the cache may lag: only the API server can say it is gone
            await self._client.get(BGP_ENDPOINTS, endpoint)
        except NotFound:
            return True
        return False

    async def _prune_finalizers(self, raw: dict[str, Any], gone: set[str]) -> None:
        meta = raw["metadata"]
        current = list(meta.get("finalizers") or [])
        stale = {f"{FINALIZER_PREFIX}{name}" for name in gone}
        wanted = [f for f in current if f not in stale]
        if wanted == current:
            return
        patch = {"metadata": {"resourceVersion": meta["resourceVersion"], "finalizers": wanted}}
        try:
            await self._client.patch(
                BGP_SESSIONS,
                meta["name"],
                patch,
                patch_type=PatchType.MERGE,
                field_manager=FIELD_MANAGER,
            )
        except NotFound:
            return
        log.info(
            "removed finalizers of gone endpoints",
            session=meta["name"],
            endpoints=sorted(gone),
        )

    async def _prune_entries(self, raw: dict[str, Any], gone: set[str]) -> None:
        if raw["metadata"].get("deletionTimestamp"):
            return  # on its way out; the finalizers are what matters
        spec = raw.get("spec") or {}
        ends = {spec.get("localEndpoint"), spec.get("remoteEndpoint")}
        entries = (raw.get("status") or {}).get("endpoints") or []
        kept = [e for e in entries if e.get("endpoint") in ends and e.get("endpoint") not in gone]
        if len(kept) == len(entries):
            return
        patch = {
            "metadata": {"resourceVersion": raw["metadata"]["resourceVersion"]},
            "status": {"endpoints": kept},
        }
        try:
            await self._client.status().patch(
                BGP_SESSIONS,
                raw["metadata"]["name"],
                patch,
                patch_type=PatchType.MERGE,
                field_manager=FIELD_MANAGER,
            )
        except NotFound:
            return
        log.info(
            "pruned stale status entries",
            session=raw["metadata"]["name"],
            removed=sorted(str(e.get("endpoint")) for e in entries if e not in kept),
        )


def _endpoints_mentioned(raw: dict[str, Any]) -> set[str]:
    """Endpoints the session names, holds a finalizer of, or has a status entry of."""
    spec = raw.get("spec") or {}
    out = {n for n in (spec.get("localEndpoint"), spec.get("remoteEndpoint")) if n}
    for f in (raw.get("metadata") or {}).get("finalizers") or []:
        if f.startswith(FINALIZER_PREFIX):
            out.add(f.removeprefix(FINALIZER_PREFIX))
    for e in (raw.get("status") or {}).get("endpoints") or []:
        if e.get("endpoint"):
            out.add(str(e["endpoint"]))
    return out


def setup_gone_endpoints(
    manager: Manager,
    *,
    cache: InformerCache,
    client: GoneWriter,
    options: ControllerOptions | None = None,
) -> Rebuilding:
    """Add the leader-only gone-endpoint controller (the cache must be prepared and added)."""
    base = options or ControllerOptions()
    options = dataclasses.replace(base, needs_leader_election=True)

    def build() -> Controller:
        reconciler = GoneEndpointReconciler(cache=cache, client=client)
        return (
            Builder("gone-endpoints")
            .for_(cache.get_informer(BGP_SESSIONS))
            .watches(
                cache.get_informer(BGP_ENDPOINTS),
                enqueue_from_map_func(reconciler.map_endpoint),
                Funcs(on_update=lambda _: False),
            )
            .with_options(options)
            .complete(reconciler)
        )

    runnable = Rebuilding(build, name="gone-endpoints")
    manager.add(runnable)
    return runnable
