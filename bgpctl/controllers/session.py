"""SessionReconciler: BGPSession -> a GoBGP neighbor, on each of the session's two nodes.

Only the nodes whose endpoint is ``spec.localEndpoint`` or ``spec.remoteEndpoint`` act;
every other node ignores the session entirely (no finalizer, no writes). An involved
node:

1. adds its own finalizer ``bgp.miloapis.com/session-<endpoint>`` (merge patch with an
   optimistic lock, so the other node's finalizer is never lost);
2. configures the neighbor: the *other* endpoint's address and AS, the other endpoint's
   ``port`` or the configuration's ``listenPort``, timers, eBGP multihop / TTL security,
   and the route-reflector-client flag only on the reflector (``localEndpoint``) side;
   the neighbor's description tags it with the session (``bgpsession/<name>``);
3. removes neighbors tagged with this session at another address (an endpoint address
   changed), judged from GoBGP: one ListPeer at start (and again after any GoBGP
   error or resync), kept current by this node's own adds and deletes, and the neighbor
   itself read back with a targeted lookup before anything is changed
   (:meth:`SessionReconciler._tags`);
4. writes only its own ``status.endpoints[]`` entry through the
   :class:`~bgpctl.controllers.sessionstatus.SessionStatusReporter` (state, counters,
   last error; server-side apply as ``bgpctl/<endpoint>``, only when it changed).

On delete (or when the node stops being part of the session) it removes every neighbor
tagged with the session ("not found" counts as done; missing endpoints never block) and
then its own finalizer. The aggregate ``Configured`` / ``SessionEstablished`` conditions
are not written here but by the leader's status aggregator (one writer per field).

Differences from the Go original (``docs/differences.md``): no status ping-pong
(status writes do not re-trigger, no-op writes are skipped); per-node finalizers;
GoBGP is the source of truth for what is configured, not a memory lost on restart;
endpoints and the configuration are watched; the route-reflector flag is set on the
reflector only; each endpoint's own port; peer events are matched on this node's
sessions by either end.
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from typing import Any, Protocol

import structlog

from bgpctl.api.v1alpha1 import BGP_CONFIGURATION, BGP_ENDPOINT, BGP_SESSION
from bgpctl.api.v1alpha1.endpoint import BGPEndpointSpec
from bgpctl.controllers.neighbor import Action, apply_neighbor, delete_neighbor
from bgpctl.controllers.resources import (
    BGP_CONFIGURATIONS,
    BGP_ENDPOINTS,
    BGP_SESSIONS,
    CONFIGURATION_NAME,
    field_manager,
)
from bgpctl.controllers.sessionpeer import (
    ADDRESS_INDEX,
    DESCRIPTION_PREFIX,
    ENDPOINT_INDEX,
    build_peer,
    description,
    endpoint_index,
    families,
    finalizer,
)
from bgpctl.controllers.sessionstatus import SessionStatusReporter, peer_message
from bgpctl.gobgp.client import GoBGPClient
from bgpctl.gobgp.errors import (
    AlreadyExists,
    GoBGPError,
    NotStarted,
    is_retriable,
)
from bgpctl.gobgp.types import (
    IPAddress,
    Peer,
    PeerEvent,
    PeerSpec,
)
from bgpctl.runtime.cache.informers import InformerCache
from bgpctl.runtime.client.errors import NotFound
from bgpctl.runtime.client.interfaces import PatchType, Reader, Writer
from bgpctl.runtime.reconcile import Request, Result, TerminalError
from bgpctl.runtime.recorder import EventRecorder
from bgpctl.runtime.source import Channel

log = structlog.get_logger(__name__)

CONFLICT = "Conflict"
"""Event reason and status message prefix of a session that lost its neighbor to another."""
CONFLICT_RECHECK = 30.0
"""Seconds after which a session in conflict looks again."""


class KubeWriter(Reader, Writer, Protocol):
    """What the reconciler writes (and reads uncached objects) through (``KubeClient``)."""


class SessionReconciler:
    """Configures this node's side of the sessions it is part of; see module docstring.

    Args:
        cache: Informer cache (sessions with ``ENDPOINT_INDEX``, endpoints, configuration).
        client: Writes finalizers and the node's status entry.
        gobgp: The local GoBGP.
        recorder: Events about bad input and failures.
        local_endpoint: The name of this node's BGPEndpoint.
    """

    def __init__(
        self,
        *,
        cache: InformerCache,
        client: KubeWriter,
        gobgp: GoBGPClient,
        recorder: EventRecorder,
        local_endpoint: str,
    ) -> None:
        self._cache = cache
        self._client = client
        self._gobgp = gobgp
        self._recorder = recorder
        self._me = local_endpoint
        self._finalizer = finalizer(local_endpoint)
        self._manager = field_manager(local_endpoint)
        # Neighbors this agent has configured (for FIB sync's stale-route check only;
        # what GoBGP has is always read from GoBGP).
        self._configured: dict[str, IPAddress] = {}
        self._tagged: dict[str, set[IPAddress]] | None = None
        self._tags_lock = asyncio.Lock()
        self._log = log.bind(endpoint=local_endpoint)
        self.status = SessionStatusReporter(
            client=client,
            recorder=recorder,
            gobgp=gobgp,
            local_endpoint=local_endpoint,
            field_manager=self._manager,
        )

    # -- map functions (synchronous, cache only) ------------------------------------

    def map_endpoint(self, obj: dict[str, Any]) -> list[Request]:
        """Endpoint events -> this node's sessions that reference the endpoint."""
        name = (obj.get("metadata") or {}).get("name")
        if not name:
            return []
        indexer = self._cache.get_informer(BGP_SESSIONS).indexer
        out = [_request(s) for s in indexer.by_index(ENDPOINT_INDEX, name) if self._involved(s)]
        # An address change may end (or start) a conflict over a neighbor.
        return out + self.map_conflicted(obj)

    def map_conflicted(self, obj: dict[str, Any]) -> list[Request]:
        """Any session change -> this node's sessions that lost a neighbor to another one."""
        name = (obj.get("metadata") or {}).get("name")
        return [
            _request(s)
            for s in self._cache.get_informer(BGP_SESSIONS).indexer.list()
            if s["metadata"]["name"] != name and self._involved(s) and self._lost(s)
        ]

    def map_all(self, _obj: dict[str, Any]) -> list[Request]:
        """Any event -> every session this node is part of (or still holds a finalizer on)."""
        return [
            _request(s)
            for s in self._cache.get_informer(BGP_SESSIONS).indexer.list()
            if self._involved(s) or self._finalizer in _finalizers(s)
        ]

    def sessions_for_neighbor(self, address: IPAddress) -> list[dict[str, Any]]:
        """This node's sessions whose other end has ``address`` (peer events)."""
        # Index lookups only: a peer event costs the same in any cluster size.
        endpoints = self._cache.get_informer(BGP_ENDPOINTS).indexer
        names = {e["metadata"]["name"] for e in endpoints.by_index(ADDRESS_INDEX, str(address))}
        sessions = self._cache.get_informer(BGP_SESSIONS).indexer
        out: dict[str, dict[str, Any]] = {}
        for name in names:
            for s in sessions.by_index(ENDPOINT_INDEX, name):
                other = _other_end(s, self._me)
                if other == name:
                    out[s["metadata"]["name"]] = s
        return list(out.values())

    def _involved(self, obj: dict[str, Any]) -> bool:
        return self._me in endpoint_index(obj)

    # -- reconcile ------------------------------------------------------------------

    def expected_peers(self) -> list[IPAddress]:
        """Addresses of the neighbors this agent has configured for its sessions."""
        return list(self._configured.values())

    async def reconcile(self, request: Request) -> Result:
        """See the module docstring."""
        try:
            raw = await self._cache.get(BGP_SESSIONS, request.name)
        except NotFound:
            uncached = await self._left_selection(request.name)
            if uncached is None:
                self._configured.pop(request.name, None)
                self.status.forget(request.name)
                return Result()
            raw = uncached
        name = request.name
        if raw["metadata"].get("deletionTimestamp") or not self._involved(raw):
            self._configured.pop(name, None)
            if self._finalizer in _finalizers(raw):
                await self._remove_peers(name, keep=None)
                await self._set_finalizer(raw, present=False)
                self._log.info("session cleaned up", session=name)
            self.status.forget(name)
            return Result()
        if await self._endpoint(self._me) is None:
            # This node is gone (its BGPEndpoint was deleted): hold nothing, write nothing;
            # the leader prunes what it left behind.
            self._configured.pop(name, None)
            await self._remove_peers(name, keep=None)
            if self._finalizer in _finalizers(raw):
                await self._set_finalizer(raw, present=False)
            self.status.forget(name)
            return Result()
        if self._finalizer not in _finalizers(raw):
            raw = await self._set_finalizer(raw, present=True)
        try:
            spec = BGP_SESSION.parse(raw).spec
        except ValueError as err:
            await self._fail(raw, f"invalid session: {err}", "InvalidSession")
            raise TerminalError(str(err)) from err
        other = spec.remote_endpoint if self._me == spec.local_endpoint else spec.local_endpoint
        local = await self._endpoint(self._me)
        remote = await self._endpoint(other)
        missing = [n for n, ep in ((self._me, local), (other, remote)) if ep is None]
        if missing or local is None or remote is None:
            # The endpoint watch re-triggers once it exists; nothing to retry until then.
            self._configured.pop(name, None)
            await self._remove_peers(name, keep=None)
            await self._fail(raw, f"BGPEndpoint {missing[0]!r} not found", "EndpointNotFound")
            return Result()
        try:
            config_raw = await self._cache.get(BGP_CONFIGURATIONS, CONFIGURATION_NAME)
        except NotFound:
            await self._fail(raw, "waiting for BGPConfiguration 'default'", "NoConfiguration")
            return Result()
        config = BGP_CONFIGURATION.parse(config_raw).spec
        desired = build_peer(
            session=name,
            spec=spec,
            me=self._me,
            local=local,
            remote=remote,
            listen_port=config.listen_port,
            default_families=families(config.address_families),
        )
        try:
            for attempt in (1, 2):
                current = await self._remove_peers(name, keep=desired.neighbor_address)
                owner = self._owner(raw, desired.neighbor_address, current)
                if owner is not None:
                    self._configured.pop(name, None)
                    message = f"{CONFLICT}: {owner}"
                    entry = self._entry(raw)
                    known = entry is not None and entry.get("message") == message
                    await self._fail(raw, message, CONFLICT, warn=not known)
                    # The owner's deletion or change re-triggers this session; the
                    # requeue covers a cleanup that lands after that trigger.
                    return Result(requeue_after=CONFLICT_RECHECK)
                try:
                    peer = await self._apply_peer(name, current, desired)
                    break
                except AlreadyExists:
                    # A neighbor added behind this agent's back since its last ListPeer:
                    # list again (the map is dropped on errors) and judge whose it is.
                    if attempt == 2:
                        raise
        except GoBGPError as err:
            await self._fail(
                raw,
                f"GoBGP: {err}",
                "GoBGPError",
                warn=not (is_retriable(err) or isinstance(err, NotStarted)),
            )
            raise
        self._configured[name] = desired.neighbor_address
        await self.status.report_peer(raw, peer, message=peer_message(desired))
        return Result()

    async def _left_selection(self, name: str) -> dict[str, Any] | None:
        """A session the cache does not hold that still carries this node's finalizer.

        A node's cache may hold only the sessions that name it (field selectors): one
        whose ends changed leaves the cache although this node still has its neighbor
        and finalizer. One targeted GET (on the cache's delete only) tells.
        """
        try:
            raw = await self._client.get(BGP_SESSIONS, name)
        except NotFound:
            return None
        return raw if self._finalizer in _finalizers(raw) else None

    async def _endpoint(self, name: str) -> BGPEndpointSpec | None:
        try:
            raw = await self._cache.get(BGP_ENDPOINTS, name)
        except NotFound:
            return None
        return BGP_ENDPOINT.parse(raw).spec

    async def _apply_peer(
        self, session: str, current: Peer | None, desired: PeerSpec
    ) -> Peer | None:
        try:
            applied = await apply_neighbor(self._gobgp, current, desired)
        except GoBGPError:
            self._tagged = None  # half applied, perhaps: list again next time
            raise
        if applied.action is not Action.NONE:
            # The neighbor at this address now carries this session's tag only.
            tags = await self._tags()
            for addresses in tags.values():
                addresses.discard(desired.neighbor_address)
            tags.setdefault(desired.description, set()).add(desired.neighbor_address)
            self._log.info(
                f"peer {applied.action.value}",
                session=session,
                peer=str(desired.neighbor_address),
                changed=",".join(applied.changed),
            )
        return applied.peer

    def _owner(self, raw: dict[str, Any], address: IPAddress, current: Peer | None) -> str | None:
        """Who else holds (or has the better claim to) the neighbor at ``address``, if anyone.

        An existing neighbor belongs to the session in its description, as long as that
        session exists; a neighbor without a ``bgpsession/`` tag belongs to whoever
        configured it outside bgpctl. With no neighbor yet, the claim goes to the session
        whose entry already says ``configured``, then to the oldest (then the smallest name).
        """
        name = raw["metadata"]["name"]
        if current is not None:
            tag = current.spec.description
            if tag == description(name):
                return None
            if not tag.startswith(DESCRIPTION_PREFIX):
                return f"neighbor {address} is configured in GoBGP outside bgpctl"
            other = tag.removeprefix(DESCRIPTION_PREFIX)
            if self._session(other) is not None:
                return f"neighbor {address} belongs to BGPSession {other!r}"
            return None  # an orphan: its session is gone, take it over
        rivals = [s for s in self._claimants(address) if s["metadata"]["name"] != name]
        if not rivals:
            return None
        best = min([raw, *rivals], key=self._claim)
        if best is raw:
            return None
        return f"neighbor {address} belongs to BGPSession {best['metadata']['name']!r}"

    def _claimants(self, address: IPAddress) -> list[dict[str, Any]]:
        """This node's live sessions whose other end has ``address``."""
        return [
            s
            for s in self.sessions_for_neighbor(address)
            if not s["metadata"].get("deletionTimestamp")
        ]

    def _claim(self, raw: dict[str, Any]) -> tuple[bool, str, str]:
        entry = self._entry(raw)
        configured = bool(entry and entry.get("configured"))
        meta = raw["metadata"]
        return (not configured, meta.get("creationTimestamp") or "", meta["name"])

    def _entry(self, raw: dict[str, Any]) -> dict[str, Any] | None:
        entries = (raw.get("status") or {}).get("endpoints") or []
        return next((e for e in entries if e.get("endpoint") == self._me), None)

    def _lost(self, raw: dict[str, Any]) -> bool:
        entry = self._entry(raw)
        return bool(entry and str(entry.get("message") or "").startswith(CONFLICT))

    def _session(self, name: str) -> dict[str, Any] | None:
        return self._cache.get_informer(BGP_SESSIONS).indexer.get_by_key(name)

    async def sweep_orphans(self) -> None:
        """Delete neighbors tagged ``bgpsession/<name>`` whose session no longer exists.

        Run on every full resync (agent start, new GoBGP generation), after the
        informer cache has synced. Neighbors without the tag are never touched.
        """
        async with self._tags_lock:
            self._tagged = None  # rebuilt from this listing
            tagged: dict[str, set[IPAddress]] = {}
            for peer in await self._gobgp.list_peers():
                tag, address = peer.spec.description, peer.spec.neighbor_address
                session = tag.removeprefix(DESCRIPTION_PREFIX)
                if tag.startswith(DESCRIPTION_PREFIX) and self._session(session) is None:
                    await delete_neighbor(self._gobgp, address)
                    self._log.info("orphaned peer deleted", session=session, peer=str(address))
                else:
                    tagged.setdefault(tag, set()).add(address)
            self._tagged = tagged

    async def _remove_peers(self, session: str, *, keep: IPAddress | None) -> Peer | None:
        """Delete the session's neighbors except at ``keep``; return the one at ``keep``."""
        try:
            tags = await self._tags()
            tagged = tags.get(description(session), set())
            for address in sorted(tagged - {keep} if keep is not None else tagged, key=str):
                await delete_neighbor(self._gobgp, address)
                tagged.discard(address)
                self._log.info("peer deleted", session=session, peer=str(address))
            if keep is None or not any(keep in addresses for addresses in tags.values()):
                # The map holds every neighbor (one ListPeer, then this agent's own
                # writes): none at ``keep``, no call. One added behind the agent's back
                # since then makes AddPeer answer AlreadyExists (see reconcile).
                return None
            return await self._gobgp.get_peer(keep)
        except GoBGPError:
            self._tagged = None  # GoBGP may have changed under us: list again next time
            raise

    async def _tags(self) -> dict[str, set[IPAddress]]:
        """Neighbor addresses by description: one ListPeer, then kept by our own writes.

        Only this agent adds or deletes neighbors tagged ``bgpsession/...`` in its
        GoBGP, so after one ListPeer (at start, and again after any GoBGP error) its own
        adds and deletes keep the map exact; a neighbor lost in a gobgpd restart only
        makes a later delete answer "not found". One reconcile then costs one targeted
        lookup instead of a ListPeer of every neighbor (O(n²) on a route reflector).
        """
        async with self._tags_lock:
            if self._tagged is None:
                tagged: dict[str, set[IPAddress]] = {}
                for peer in await self._gobgp.list_peers():
                    tagged.setdefault(peer.spec.description, set()).add(peer.spec.neighbor_address)
                self._tagged = tagged
            return self._tagged

    async def _set_finalizer(self, raw: dict[str, Any], *, present: bool) -> dict[str, Any]:
        meta = raw["metadata"]
        current = _finalizers(raw)
        wanted = (
            [*current, self._finalizer] if present else [f for f in current if f != self._finalizer]
        )
        # resourceVersion makes the merge patch conditional (Conflict -> retry with backoff),
        # so the other node's concurrent finalizer change is never overwritten.
        patch = {"metadata": {"resourceVersion": meta["resourceVersion"], "finalizers": wanted}}
        try:
            return await self._client.patch(
                BGP_SESSIONS,
                meta["name"],
                patch,
                patch_type=PatchType.MERGE,
                field_manager=self._manager,
            )
        except NotFound:
            return raw

    async def _fail(
        self, raw: dict[str, Any], message: str, reason: str, *, warn: bool = True
    ) -> None:
        if warn:
            self._recorder.warning(raw, reason, f"{self._me}: {message}")
        await self.status.report_failure(raw, reason=reason, message=message)


class PeerEventWatcher:
    """Runnable: GoBGP peer events -> the matching sessions of this node, via ``channel``.

    The channel's handler enqueues the event's object, so ``state`` in the status
    follows the FSM as GoBGP reports it.
    """

    def __init__(self, gobgp: GoBGPClient, reconciler: SessionReconciler, channel: Channel) -> None:
        self._gobgp = gobgp
        self._reconciler = reconciler
        self._channel = channel
        self.name = "peer-events"

    async def start(self) -> None:
        """Consume the (self-resubscribing) peer-event stream until cancelled."""
        async with aclosing(self._gobgp.watch_peers()) as stream:
            async for item in stream:
                if isinstance(item, PeerEvent) and item.peer is not None:
                    address = item.peer.neighbor_address
                    for session in self._reconciler.sessions_for_neighbor(address):
                        self._channel.trigger(session)


def _request(obj: dict[str, Any]) -> Request:
    return Request(name=obj["metadata"]["name"])


def _finalizers(obj: dict[str, Any]) -> list[str]:
    return list((obj.get("metadata") or {}).get("finalizers") or [])


def _other_end(obj: dict[str, Any], me: str) -> str | None:
    spec = obj.get("spec") or {}
    if spec.get("localEndpoint") == me:
        return spec.get("remoteEndpoint")
    if spec.get("remoteEndpoint") == me:
        return spec.get("localEndpoint")
    return None
