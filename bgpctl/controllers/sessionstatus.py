"""This node's ``status.endpoints[]`` entry of each of its sessions: what and when to write.

Both the session reconciler (after configuring a neighbor, on peer events) and the
:class:`SessionStatusPoller` (GoBGP's counters every few seconds, gobgpd loss) report
through one :class:`SessionStatusReporter`, which owns the entry:

- ``state`` (FSM state, or ``Unknown`` while gobgpd is unreachable), ``reason``,
  ``configured``, ``message``, ``lastError`` (:mod:`sessioncause`),
  ``lastTransitionTime`` (changes only with ``state``: the uptime of an Established
  session), ``receivedPrefixes`` / ``acceptedPrefixes`` / ``advertisedPrefixes`` (sums
  over families) and ``flapCount`` (GoBGP's count since it added the neighbor);
- a change of anything but the counters is written at once; a change of the counters
  only — or of the state between two states that are not up (Idle, Connect, Active,
  OpenSent, OpenConfirm: a failing session cycles through them) — is written at most
  once per ``counter_interval`` (30 s) per session, so a busy or failing session costs
  at most two writes a minute and an unchanging one none; reaching or leaving
  Established, Unknown, a new last error or a configuration change are written at once;
- the entry is written by server-side apply of just that entry as ``bgpctl/<node>``;
- Events on the session: ``SessionEstablished`` (Normal) and ``SessionLost`` (Warning,
  with the cause), each at most once per session per ``event_interval`` (5 min): a
  flapping session shows up as one Event of each that says how often, never one per flap;
- metrics (:mod:`bgpctl.metrics.bgp`) follow every observation, written or not.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from bgpctl.controllers.resources import BGP_CONFIGURATIONS, BGP_SESSIONS, CONFIGURATION_NAME
from bgpctl.controllers.sessioncause import infer_last_error
from bgpctl.controllers.sessionpeer import endpoint_index
from bgpctl.gobgp.client import GoBGPClient
from bgpctl.gobgp.errors import GoBGPError
from bgpctl.gobgp.types import Afi, Family, Peer, PeerSpec, PeerState
from bgpctl.metrics import bgp as metrics
from bgpctl.runtime.cache.informers import InformerCache
from bgpctl.runtime.client.errors import ApiError, NotFound
from bgpctl.runtime.client.interfaces import Writer
from bgpctl.runtime.recorder import EventRecorder

log = structlog.get_logger(__name__)

GOBGP_UNAVAILABLE = "GoBGPUnavailable"
"""Reason of an entry while this node's gobgpd is unreachable (state ``Unknown``)."""
COUNTER_INTERVAL = 30.0
EVENT_INTERVAL = 300.0
POLL_INTERVAL = 5.0

_COUNTERS = ("receivedPrefixes", "acceptedPrefixes", "advertisedPrefixes", "flapCount")
_DESCRIPTION_PREFIX = "bgpsession/"
_DOWN = frozenset({"Idle", "Connect", "Active", "OpenSent", "OpenConfirm"})


def now_rfc3339() -> str:
    """The current time as the API's date-time (seconds)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def peer_message(spec: PeerSpec) -> str:
    """What the entry's ``message`` says about a configured neighbor."""
    return f"peer {spec.neighbor_address} AS {spec.peer_asn} port {spec.remote_port or 179}"


def family_name(family: Family) -> str:
    """``ipv4-unicast`` style label of an address family."""
    afi = "ipv4" if family.afi is Afi.IP else "ipv6"
    return f"{afi}-{family.safi.name.lower()}"


@dataclass(slots=True)
class _Track:
    """What the reporter remembers of one session (cleared by ``forget``)."""

    uid: str = ""
    written: dict[str, Any] | None = None
    written_at: float = float("-inf")
    peer: PeerState | None = None
    first_seen: float = 0.0
    opens_moved_at: float = 0.0
    last_error: str | None = None
    message: str | None = None
    event_at: dict[str, float] = field(default_factory=dict)
    suppressed: dict[str, int] = field(default_factory=dict)
    families: set[str] = field(default_factory=set)


class SessionStatusReporter:
    """Owns this node's entry of every session it is part of; see the module docstring.

    Args:
        client: Applies the entries (status subresource).
        recorder: Session Events.
        gobgp: The local GoBGP (whether it is reachable decides Unknown vs error).
        local_endpoint: This node's BGPEndpoint name.
        field_manager: ``bgpctl/<node>``.
        counter_interval: Minimum seconds between two counter-only writes of a session.
        event_interval: Minimum seconds between two state Events of a session.
    """

    def __init__(
        self,
        *,
        client: Writer,
        recorder: EventRecorder,
        gobgp: GoBGPClient,
        local_endpoint: str,
        field_manager: str,
        counter_interval: float = COUNTER_INTERVAL,
        event_interval: float = EVENT_INTERVAL,
    ) -> None:
        self._client = client
        self._recorder = recorder
        self._gobgp = gobgp
        self._me = local_endpoint
        self._manager = field_manager
        self._counter_interval = counter_interval
        self._event_interval = event_interval
        self._tracks: dict[str, _Track] = {}
        self.writes = 0
        """Status writes so far (tests and the steady-state benchmark read it)."""

    # -- what callers report ----------------------------------------------------------------

    async def report_peer(
        self, raw: dict[str, Any], peer: Peer | None, *, message: str | None = None
    ) -> None:
        """The neighbor is configured; ``peer`` is what GoBGP reports (None: not listed)."""
        track = self._track(raw)
        if message is not None:
            track.message = message
        entry: dict[str, Any] = {"endpoint": self._me, "configured": True}
        if peer is None:
            entry.update(state="Unknown", reason="PeerNotListed")
        else:
            state = peer.state
            self._observe_cause(track, state, peer.spec)
            entry.update(
                state=state.session_state.value,
                reason=state.session_state.value,
                receivedPrefixes=sum(c.received for c in state.families),
                acceptedPrefixes=sum(c.accepted for c in state.families),
                advertisedPrefixes=sum(c.advertised for c in state.families),
                flapCount=state.flops,
            )
            families = [
                (family_name(c.family), c.received, c.accepted, c.advertised)
                for c in state.families
            ]
            track.families.update(f for f, *_ in families)
            metrics.observe_session(
                _name(raw),
                state=state.session_state.value,
                received=entry["receivedPrefixes"],
                flaps=state.flops,
                families=families,
            )
        if track.message is not None:
            entry["message"] = track.message[:1024]
        if track.last_error is not None:
            entry["lastError"] = track.last_error[:1024]
        await self._write(raw, track, entry)

    async def report_failure(self, raw: dict[str, Any], *, reason: str, message: str) -> None:
        """The neighbor is not configured, because of ``reason``."""
        if reason == "GoBGPError" and not self._gobgp.connected:
            await self.report_unavailable(raw)
            return
        track = self._track(raw)
        entry = {"endpoint": self._me, "configured": False, "reason": reason, "message": message}
        await self._write(raw, track, entry)

    async def report_unavailable(self, raw: dict[str, Any]) -> None:
        """This node's gobgpd is unreachable: state Unknown, the rest as last known."""
        track = self._track(raw)
        old = dict(track.written or _entry_of(raw, self._me) or {})
        entry = {k: v for k, v in old.items() if k != "lastTransitionTime"}
        entry.update(
            endpoint=self._me,
            state="Unknown",
            reason=GOBGP_UNAVAILABLE,
            message=f"gobgpd at {self._gobgp.target} is unreachable",
        )
        entry.setdefault("configured", False)
        track.peer = None  # counters restart with the next gobgpd
        metrics.session_unknown([_name(raw)])
        await self._write(raw, track, entry)

    def forget(self, name: str) -> None:
        """The session is gone (or this node no longer one of its ends)."""
        track = self._tracks.pop(name, None)
        metrics.forget_session(name, track.families if track else ())

    # -- internals --------------------------------------------------------------------------

    def _track(self, raw: dict[str, Any]) -> _Track:
        meta = raw["metadata"]
        track = self._tracks.get(meta["name"])
        if track is None or track.uid != meta.get("uid", ""):
            now = asyncio.get_running_loop().time()
            old = _entry_of(raw, self._me) or {}
            track = _Track(
                uid=meta.get("uid", ""),
                first_seen=now,
                opens_moved_at=now,
                last_error=old.get("lastError"),
            )
            self._tracks[meta["name"]] = track
        return track

    def _observe_cause(self, track: _Track, state: PeerState, spec: PeerSpec) -> None:
        now = asyncio.get_running_loop().time()
        previous = track.peer
        if previous is not None and state.messages.opens_sent != previous.messages.opens_sent:
            track.opens_moved_at = now
        cause = infer_last_error(
            previous,
            state,
            open_quiet=now - track.opens_moved_at,
            address=str(spec.neighbor_address),
            port=spec.remote_port or 179,
        )
        if cause is not None:
            track.last_error = cause
        track.peer = state

    async def _write(self, raw: dict[str, Any], track: _Track, entry: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        old = track.written if track.written is not None else _entry_of(raw, self._me)
        if old is None:
            significant, counters = True, False
        else:
            keys = (entry.keys() | old.keys()) - {"lastTransitionTime", *_COUNTERS}
            changed = {k for k in keys if old.get(k) != entry.get(k)}
            counters = any(old.get(k) != entry.get(k) for k in _COUNTERS)
            if changed <= {"state", "reason"} and {old.get("state"), entry.get("state")} <= _DOWN:
                # A session that is not up cycles Idle/Active/OpenSent every few
                # seconds: coalesced like the counters, or it would never be quiet.
                counters, changed = counters or bool(changed), set()
            significant = bool(changed)
        if not significant and not counters:
            return
        if not significant and loop.time() - track.written_at < self._counter_interval:
            return  # counters only: coalesced, the poller comes back
        old_state = (old or {}).get("state")
        if old is not None and old_state == entry.get("state") and old.get("lastTransitionTime"):
            entry["lastTransitionTime"] = old["lastTransitionTime"]
        else:
            entry["lastTransitionTime"] = now_rfc3339()
        await _apply_entry(self._client, raw, entry, self._manager)
        self.writes += 1
        track.written, track.written_at = entry, loop.time()
        if old is not None and old_state != entry.get("state"):
            self._state_event(raw, track, old_state, entry)

    def _state_event(
        self, raw: dict[str, Any], track: _Track, old: str | None, entry: dict[str, Any]
    ) -> None:
        new = entry.get("state")
        if new == "Established":
            reason, warn = "SessionEstablished", False
            text = f"{self._me}: session established ({entry.get('message', '')})"
        elif old == "Established" and new != "Unknown":
            reason, warn = "SessionLost", True
            cause = track.last_error or f"now {new}"
            text = f"{self._me}: session lost: {cause}"
        else:
            return
        now = asyncio.get_running_loop().time()
        if now - track.event_at.get(reason, float("-inf")) < self._event_interval:
            track.suppressed[reason] = track.suppressed.get(reason, 0) + 1
            return
        if suppressed := track.suppressed.pop(reason, 0):
            text += f" ({suppressed} more times since the last such Event)"
        track.event_at[reason] = now
        if warn:
            self._recorder.warning(raw, reason, text)
        else:
            self._recorder.normal(raw, reason, text)


class SessionStatusPoller:
    """Runnable: GoBGP's counters into the entries; gobgpd loss → Unknown at once.

    Every ``interval`` seconds it lists GoBGP's neighbors and reports each session of
    this node whose neighbor (tagged ``bgpsession/<name>``) exists. When the connection
    to gobgpd is lost (the client notices a killed gobgpd at once through its sentinel
    stream, a hung one within its health interval), every entry of this node turns
    ``Unknown`` / ``GoBGPUnavailable`` and a Warning Event goes to the configuration;
    after the reconnect a Normal ``GoBGPReconnected`` Event, and the session reconciler
    (re-enqueued by the generation watcher) reports the real states again.

    Args:
        gobgp: The local GoBGP.
        cache: Informer cache (sessions, configuration).
        reporter: Writes the entries.
        recorder: GoBGP connection Events.
        local_endpoint: This node's BGPEndpoint name.
        interval: Seconds between two polls of GoBGP's counters.
    """

    def __init__(
        self,
        *,
        gobgp: GoBGPClient,
        cache: InformerCache,
        reporter: SessionStatusReporter,
        recorder: EventRecorder,
        local_endpoint: str,
        interval: float = POLL_INTERVAL,
    ) -> None:
        self._gobgp = gobgp
        self._cache = cache
        self._reporter = reporter
        self._recorder = recorder
        self._me = local_endpoint
        self._interval = interval
        self.name = "session-status"

    def _sessions(self) -> Iterable[dict[str, Any]]:
        for raw in self._cache.get_informer(BGP_SESSIONS).indexer.list():
            if self._me in endpoint_index(raw) and not raw["metadata"].get("deletionTimestamp"):
                yield raw

    async def start(self) -> None:
        """Poll and watch the connection until cancelled."""
        generation = await self._gobgp.wait_connected()
        metrics.set_gobgp_connected(True)
        while True:
            if not self._gobgp.connected:
                await self._unavailable()
                generation = await self._gobgp.wait_connected()
                metrics.set_gobgp_connected(True)
                metrics.count_gobgp_reconnect()
                self._config_event(
                    "GoBGPReconnected", f"reconnected to gobgpd (generation {generation})"
                )
                continue
            try:
                await self.poll()
            except GoBGPError as err:
                log.debug("session status poll failed", error=str(err))
            except ApiError as err:
                # The API server may be away (an outage, a restart): the agent keeps
                # running and the next poll writes what changed meanwhile.
                log.info("session status not written", error=str(err))
            await _first(asyncio.sleep(self._interval), self._gobgp.wait_disconnected())

    async def poll(self) -> None:
        """List GoBGP's neighbors once and report this node's sessions."""
        peers = {p.spec.description: p for p in await self._gobgp.list_peers()}
        for raw in self._sessions():
            peer = peers.get(_DESCRIPTION_PREFIX + _name(raw))
            if peer is not None:
                with contextlib.suppress(NotFound):
                    await self._reporter.report_peer(raw, peer)

    async def _unavailable(self) -> None:
        metrics.set_gobgp_connected(False)
        log.warning("gobgpd unreachable: this node's sessions are Unknown")
        self._config_event(GOBGP_UNAVAILABLE, f"gobgpd at {self._gobgp.target} is unreachable")
        for raw in list(self._sessions()):
            if _entry_of(raw, self._me) is None:
                continue  # never reported: nothing to correct
            try:
                await self._reporter.report_unavailable(raw)
            except Exception as err:  # the API may be down too; the next loss retries
                log.info("cannot mark session Unknown", session=_name(raw), error=str(err))

    def _config_event(self, reason: str, message: str) -> None:
        informer = self._cache.get_informer(BGP_CONFIGURATIONS)
        config = informer.indexer.get_by_key(CONFIGURATION_NAME)
        if config is None:
            return
        text = f"{self._me}: {message}"
        if reason == GOBGP_UNAVAILABLE:
            self._recorder.warning(config, reason, text)
        else:
            self._recorder.normal(config, reason, text)


async def _first(*aws: Any) -> None:
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _name(raw: dict[str, Any]) -> str:
    return str(raw["metadata"]["name"])


def _entry_of(raw: dict[str, Any], endpoint: str) -> dict[str, Any] | None:
    entries = (raw.get("status") or {}).get("endpoints") or []
    return next((dict(e) for e in entries if e.get("endpoint") == endpoint), None)


async def _apply_entry(
    client: Writer, raw: dict[str, Any], entry: dict[str, Any], manager: str
) -> None:
    body = {
        "apiVersion": raw["apiVersion"],
        "kind": raw["kind"],
        "metadata": {"name": raw["metadata"]["name"]},
        "status": {"endpoints": [entry]},
    }
    with contextlib.suppress(NotFound):  # deleted meanwhile
        await client.status().apply(BGP_SESSIONS, body, field_manager=manager, force=True)
