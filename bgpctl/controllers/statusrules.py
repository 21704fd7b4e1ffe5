"""The aggregate status of each kind, as pure functions of the object (and the endpoints).

Nodes write only their own entries (``status.endpoints[]`` of sessions,
``status.nodes[]`` of the configuration, advertisements and route policies); the leader's
:mod:`statusaggregate` controller turns them into the shared conditions and fields with
these functions. Each returns an :class:`Aggregate`; nothing here does I/O.

**Liveness.** A node end counts once its agent has written its entry: external routers
never do, so a session with no entry on either end is ``NoLocalEnd``. An entry whose
gobgpd is unreachable says so itself (state ``Unknown``, reason ``GoBGPUnavailable``)
and makes the condition ``Unknown``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bgpctl.api.meta import LabelSelector

Status = Literal["True", "False", "Unknown"]


@dataclass(frozen=True, slots=True)
class Cond:
    """One condition to set (its observedGeneration is the object's generation)."""

    type: str
    status: Status
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class Aggregate:
    """What the aggregator writes: conditions and top-level status fields.

    A field whose value is None is left out (and so removed if the aggregator had set it).
    """

    conditions: tuple[Cond, ...]
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Context:
    """What some rules need besides the object: every BGPEndpoint's name and labels."""

    endpoints: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


# -- sessions ----------------------------------------------------------------------------

_STATE_RANK = {
    "Unknown": 0,
    "Idle": 1,
    "Connect": 2,
    "Active": 3,
    "OpenSent": 4,
    "OpenConfirm": 5,
    "Established": 6,
}


def _rank(entry: Mapping[str, Any]) -> int:
    if not entry.get("configured"):
        return -1
    return _STATE_RANK.get(str(entry.get("state")), 0)


def _end_detail(entry: Mapping[str, Any]) -> str:
    detail = str(entry.get("lastError") or entry.get("message") or "")
    return f" ({detail})" if detail else ""


def session_status(obj: Mapping[str, Any], _ctx: Context) -> Aggregate:
    """``Configured`` and ``SessionEstablished`` from the two ends' entries.

    The worst end decides (not configured < Unknown < Idle < … < Established); the
    reason is its state (or why it is not configured), the message names the end.
    """
    spec = obj.get("spec") or {}
    ends = [str(spec.get("localEndpoint")), str(spec.get("remoteEndpoint"))]
    entries = {
        str(e.get("endpoint")): e
        for e in (obj.get("status") or {}).get("endpoints") or []
        if e.get("endpoint") in ends
    }
    if not entries:
        message = (
            f"neither {ends[0]} nor {ends[1]} is a node with a running bgpctl agent "
            "(no end has reported)"
        )
        return Aggregate(
            (
                Cond("Configured", "False", "NoLocalEnd", message),
                Cond("SessionEstablished", "False", "NoLocalEnd", message),
            )
        )
    reported = [n for n in ends if n in entries]
    missing = [n for n in ends if n not in entries]
    suffix = f"; {missing[0]} has no agent (external)" if missing else ""
    unconfigured = [n for n in reported if not entries[n].get("configured")]
    if unconfigured:
        end = entries[unconfigured[0]]
        configured = Cond(
            "Configured",
            "Unknown" if end.get("state") == "Unknown" else "False",
            str(end.get("reason") or "NotConfigured"),
            f"{unconfigured[0]}: {end.get('message') or 'not configured'}",
        )
    else:
        configured = Cond(
            "Configured", "True", "Configured", f"configured on {', '.join(reported)}{suffix}"
        )
    worst = min(reported, key=lambda n: (_rank(entries[n]), ends.index(n)))
    end = entries[worst]
    if _rank(end) == _STATE_RANK["Established"]:
        since = ", ".join(f"{n} since {entries[n].get('lastTransitionTime')}" for n in reported)
        established = Cond("SessionEstablished", "True", "Established", f"{since}{suffix}")
    elif end.get("state") == "Unknown":
        established = Cond(
            "SessionEstablished",
            "Unknown",
            str(end.get("reason") or "Unknown"),
            f"{worst}: {end.get('message') or 'state unknown'}",
        )
    elif not end.get("configured"):
        established = Cond(
            "SessionEstablished",
            "False",
            str(end.get("reason") or "NotConfigured"),
            f"{worst}: not configured: {end.get('message') or ''}".rstrip(": "),
        )
    else:
        state = str(end.get("state") or "Unknown")
        established = Cond(
            "SessionEstablished", "False", state, f"{worst}: {state}{_end_detail(end)}"
        )
    return Aggregate((configured, established))


# -- configuration -----------------------------------------------------------------------


def configuration_status(obj: Mapping[str, Any], _ctx: Context) -> Aggregate:
    """``Ready``, ``observedASNumber`` and ``observedRouterID`` from the node entries.

    Ready is True when every reporting node runs the configuration; then
    ``observedASNumber`` is the spec's AS and ``observedRouterID`` the router ID all
    nodes share (a Manual ID; nodes deriving theirs from their addresses differ).
    """
    nodes = sorted(((obj.get("status") or {}).get("nodes") or []), key=lambda n: str(n.get("node")))
    if not nodes:
        cond = Cond("Ready", "Unknown", "Pending", "no node agent has reported yet")
        return Aggregate((cond,))
    failing = [n for n in nodes if not n.get("ready")]
    if failing:
        first = failing[0]
        cond = Cond(
            "Ready",
            "False",
            "NodeNotReady",
            _first_of(f"{first.get('node')}: {first.get('message') or 'not ready'}", failing),
        )
        return Aggregate((cond,))
    asn = (obj.get("spec") or {}).get("asNumber")
    ids = {n.get("routerID") for n in nodes}
    cond = Cond("Ready", "True", "Ready", f"{len(nodes)} nodes run AS {asn}")
    return Aggregate(
        (cond,),
        {
            "observedASNumber": asn,
            "observedRouterID": ids.pop() if len(ids) == 1 else None,
        },
    )


def _first_of(message: str, failing: Sequence[Any]) -> str:
    more = len(failing) - 1
    return f"{message} and {more} more node{'s' if more > 1 else ''}" if more else message


# -- advertisements and route policies ----------------------------------------------------

_PRECEDENCE = ("InvalidSpec", "GoBGPError", "Conflict", "NoMatchingPeers")


def _precedence(reason: str) -> int:
    return _PRECEDENCE.index(reason) if reason in _PRECEDENCE else len(_PRECEDENCE)


def _node_outcomes(
    obj: Mapping[str, Any], ok_field: str, ok_reason: str, cond_type: str
) -> tuple[Cond, list[Mapping[str, Any]]] | list[Mapping[str, Any]]:
    """The condition when decided by the entries, else the counting entries."""
    generation = (obj.get("metadata") or {}).get("generation")
    counting = sorted(
        (
            n
            for n in (obj.get("status") or {}).get("nodes") or []
            if n.get("observedGeneration") == generation
        ),
        key=lambda n: str(n.get("node")),
    )
    if not counting:
        return counting
    failing = [n for n in counting if not n.get(ok_field)]
    if failing:
        failing.sort(key=lambda n: (_precedence(str(n.get("reason"))), str(n.get("node"))))
        first = failing[0]
        message = _first_of(f"{first.get('node')}: {first.get('message') or ''}", failing)
        return Cond(cond_type, "False", str(first.get("reason") or "Failed"), message), counting
    others = [n for n in counting if n.get("reason") != ok_reason]
    if len(others) == len(counting):
        others.sort(key=lambda n: (_precedence(str(n.get("reason"))), str(n.get("node"))))
        first = others[0]
        message = _first_of(f"{first.get('node')}: {first.get('message') or ''}", others)
        return Cond(cond_type, "False", str(first.get("reason")), message), counting
    return Cond(cond_type, "True", ok_reason, f"{len(counting)} nodes"), counting


def advertisement_status(obj: Mapping[str, Any], ctx: Context) -> Aggregate:
    """``Advertised``, ``advertisedPrefixCount`` and ``observedGeneration``.

    Only node entries whose ``observedGeneration`` is the object's generation count.
    None: ``Unknown``/``Pending`` — or ``False``/``NoNodeSelected`` when the
    ``nodeSelector`` matches no BGPEndpoint. Any counting entry not advertised:
    ``False`` with its reason (InvalidSpec > GoBGPError > Conflict > NoMatchingPeers >
    other; ties by node name), message ``<node>: <message>`` (and N more nodes). All
    advertised but none with reason ``Advertised``: ``False`` with their reason. Else
    ``True``/``Advertised``. ``advertisedPrefixCount`` is the largest count of a
    counting entry (every node originates the same prefixes).
    """
    generation = (obj.get("metadata") or {}).get("generation")
    decided = _node_outcomes(obj, "advertised", "Advertised", "Advertised")
    if isinstance(decided, list):
        raw_selector = (obj.get("spec") or {}).get("nodeSelector")
        selector = LabelSelector.model_validate(raw_selector or {})
        if not any(selector.matches(dict(labels)) for labels in ctx.endpoints.values()):
            cond = Cond(
                "Advertised", "False", "NoNodeSelected", "the nodeSelector matches no BGPEndpoint"
            )
        else:
            cond = Cond("Advertised", "Unknown", "Pending", "no node has acted on this generation")
        return Aggregate((cond,), {"observedGeneration": generation})
    cond, counting = decided
    count = max(int(n.get("advertisedPrefixes") or 0) for n in counting)
    if cond.status == "True":
        cond = Cond(
            cond.type,
            cond.status,
            cond.reason,
            f"{count} prefixes advertised by {len(counting)} nodes",
        )
    return Aggregate((cond,), {"advertisedPrefixCount": count, "observedGeneration": generation})


def route_policy_status(obj: Mapping[str, Any], _ctx: Context) -> Aggregate:
    """``Applied`` and ``observedGeneration``, by the rules of :func:`advertisement_status`.

    ``applied``/``Applied`` stand for ``advertised``/``Advertised``; there is no
    ``NoNodeSelected`` (route policies have no node selector).
    """
    generation = (obj.get("metadata") or {}).get("generation")
    decided = _node_outcomes(obj, "applied", "Applied", "Applied")
    if isinstance(decided, list):
        cond = Cond("Applied", "Unknown", "Pending", "no node has acted on this generation")
        return Aggregate((cond,), {"observedGeneration": generation})
    cond, counting = decided
    if cond.status == "True":
        cond = Cond(cond.type, cond.status, cond.reason, f"applied on {len(counting)} nodes")
    return Aggregate((cond,), {"observedGeneration": generation})
