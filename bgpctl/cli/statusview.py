"""``bgp status``'s reports and their rendering (pure: objects in, text out).

A report is a plain dict (what ``-o json`` and ``-o yaml`` print): ``sections``, each a
title, column names and rows, plus ``problems`` (what is down, one line each). The
table renderings print each section as aligned columns; ``wide`` adds columns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import yaml

Obj = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Column:
    """A column: its header, its row key, and whether only ``-o wide`` shows it."""

    header: str
    key: str
    wide: bool = False
    width: int = 0
    """Truncate to this many characters in ``table`` (0: never)."""


def _conds(obj: Obj) -> dict[str, Obj]:
    return {c.get("type", ""): c for c in (obj.get("status") or {}).get("conditions") or []}


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def age(since: str | None, now: datetime) -> str:
    """``3d4h``, ``2h5m``, ``4m10s`` or ``12s`` since an RFC 3339 time ("" if unknown)."""
    if not since:
        return ""
    try:
        then = datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        return ""
    seconds = max(0, int((now - then).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes}m"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


# -- the cluster view ---------------------------------------------------------------------

SESSION_COLUMNS = (
    Column("SESSION", "session"),
    Column("NODE", "node"),
    Column("PEER", "peer"),
    Column("PEER AS", "peerAS"),
    Column("PEER ADDRESS", "peerAddress"),
    Column("FAMILY", "family", wide=True),
    Column("STATE", "state"),
    Column("UPTIME", "uptime"),
    Column("RECEIVED", "received"),
    Column("ACCEPTED", "accepted", wide=True),
    Column("ADVERTISED", "advertised"),
    Column("FLAPS", "flaps", wide=True),
    Column("LAST ERROR", "lastError", width=40),
)
CONFIG_COLUMNS = (
    Column("NODE", "node"),
    Column("READY", "ready"),
    Column("ROUTER ID", "routerID"),
    Column("MESSAGE", "message", width=50),
)
PEERING_COLUMNS = (
    Column("POLICY", "name"),
    Column("MODE", "mode"),
    Column("MATCHED", "matched"),
    Column("ACTIVE", "active"),
    Column("READY", "ready"),
    Column("REASON", "reason"),
    Column("MESSAGE", "message", wide=True),
)
ADVERT_COLUMNS = (
    Column("ADVERTISEMENT", "name"),
    Column("PREFIXES", "prefixes"),
    Column("ADVERTISED", "advertised"),
    Column("REASON", "reason"),
    Column("MESSAGE", "message", width=50),
)
ROUTE_POLICY_COLUMNS = (
    Column("ROUTE POLICY", "name"),
    Column("TYPE", "type"),
    Column("APPLIED", "applied"),
    Column("REASON", "reason"),
    Column("MESSAGE", "message", width=50),
)

_DEFAULT_FAMILIES = "ipv4-unicast,ipv6-unicast"


def _families(endpoint: Obj | None, config: Obj | None) -> str:
    for source in (endpoint, config):
        fams = ((source or {}).get("spec") or {}).get("addressFamilies")
        if fams:
            return ",".join(
                f"{f.get('afi', '').lower()}-{f.get('safi', 'Unicast').lower()}" for f in fams
            )
    return _DEFAULT_FAMILIES


def cluster_report(
    *,
    sessions: Sequence[Obj],
    endpoints: Sequence[Obj],
    configurations: Sequence[Obj],
    peering_policies: Sequence[Obj],
    advertisements: Sequence[Obj],
    route_policies: Sequence[Obj],
    now: datetime | None = None,
) -> dict[str, Any]:
    """The cluster view from the objects' status (as ``kubectl get -o json`` has them)."""
    now = now or datetime.now(UTC)
    by_name = {_name(e): e for e in endpoints}
    config = next((c for c in configurations if _name(c) == "default"), None)
    problems: list[str] = []
    session_rows: list[dict[str, Any]] = []
    for s in sorted(sessions, key=_name):
        spec = s.get("spec") or {}
        ends = [str(spec.get("localEndpoint", "")), str(spec.get("remoteEndpoint", ""))]
        established = _conds(s).get("SessionEstablished", {})
        if established.get("status") != "True":
            problems.append(
                f"session {_name(s)}: {established.get('reason', 'no status')}"
                f"{': ' + established['message'] if established.get('message') else ''}"
            )
        entries = {e.get("endpoint"): e for e in (s.get("status") or {}).get("endpoints") or []}
        reporting: list[str | None] = [n for n in ends if n in entries] or [None]
        for node in reporting:
            entry = entries.get(node, {}) if node else {}
            peer = ends[1] if node == ends[0] else ends[0]
            peer_spec = (by_name.get(peer) or {}).get("spec") or {}
            state = entry.get("state") or established.get("reason") or "Unknown"
            session_rows.append(
                {
                    "session": _name(s),
                    "node": node or "-",
                    "peer": peer if node else f"{ends[0]},{ends[1]}",
                    "peerAS": peer_spec.get("asNumber", "") if node else "",
                    "peerAddress": peer_spec.get("address", "") if node else "",
                    "family": _families(by_name.get(peer), config) if node else "",
                    "state": state,
                    "uptime": age(entry.get("lastTransitionTime"), now)
                    if state == "Established"
                    else "",
                    "received": entry.get("receivedPrefixes", ""),
                    "accepted": entry.get("acceptedPrefixes", ""),
                    "advertised": entry.get("advertisedPrefixes", ""),
                    "flaps": entry.get("flapCount", ""),
                    "lastError": entry.get("lastError")
                    or ("" if entry else established.get("message", "")),
                }
            )
    config_rows: list[dict[str, Any]] = []
    if config is None:
        problems.append("BGPConfiguration 'default' does not exist")
    else:
        ready = _conds(config).get("Ready", {})
        if ready.get("status") != "True":
            problems.append(f"configuration: {ready.get('reason', 'no status')}")
        for n in sorted((config.get("status") or {}).get("nodes") or [], key=lambda n: n["node"]):
            config_rows.append(
                {
                    "node": n.get("node"),
                    "ready": bool(n.get("ready")),
                    "routerID": n.get("routerID", ""),
                    "message": n.get("message", ""),
                }
            )
    peering_rows = []
    for p in sorted(peering_policies, key=_name):
        ready = _conds(p).get("Ready", {})
        status = p.get("status") or {}
        if ready.get("status") == "False":
            problems.append(f"peering policy {_name(p)}: {ready.get('reason')}")
        peering_rows.append(
            {
                "name": _name(p),
                "mode": (p.get("spec") or {}).get("mode", "mesh"),
                "matched": status.get("matchedEndpoints", ""),
                "active": status.get("activeSessions", ""),
                "ready": ready.get("status", "Unknown"),
                "reason": ready.get("reason", ""),
                "message": ready.get("message", ""),
            }
        )
    advert_rows = []
    for a in sorted(advertisements, key=_name):
        cond = _conds(a).get("Advertised", {})
        if cond.get("status") == "False":
            problems.append(f"advertisement {_name(a)}: {cond.get('reason')}")
        advert_rows.append(
            {
                "name": _name(a),
                "prefixes": (a.get("status") or {}).get("advertisedPrefixCount", ""),
                "advertised": cond.get("status", "Unknown"),
                "reason": cond.get("reason", ""),
                "message": cond.get("message", ""),
            }
        )
    policy_rows = []
    for r in sorted(route_policies, key=_name):
        cond = _conds(r).get("Applied", {})
        if cond.get("status") == "False":
            problems.append(f"route policy {_name(r)}: {cond.get('reason')}")
        policy_rows.append(
            {
                "name": _name(r),
                "type": (r.get("spec") or {}).get("type", ""),
                "applied": cond.get("status", "Unknown"),
                "reason": cond.get("reason", ""),
                "message": cond.get("message", ""),
            }
        )
    header = ""
    if config is not None:
        spec = config.get("spec") or {}
        ready = _conds(config).get("Ready", {})
        header = (
            f"AS {spec.get('asNumber')}, port {spec.get('listenPort', 1790)}, router ID "
            f"{spec.get('routerIDSource', 'NodeIP')}, ready {ready.get('status', 'Unknown')}"
        )
    return {
        "sections": [
            _section("Sessions", SESSION_COLUMNS, session_rows),
            _section("Configuration", CONFIG_COLUMNS, config_rows, header),
            _section("Peering policies", PEERING_COLUMNS, peering_rows),
            _section("Advertisements", ADVERT_COLUMNS, advert_rows),
            _section("Route policies", ROUTE_POLICY_COLUMNS, policy_rows),
        ],
        "problems": problems,
    }


def _section(
    title: str, columns: Sequence[Column], rows: list[dict[str, Any]], header: str = ""
) -> dict[str, Any]:
    section: dict[str, Any] = {"title": title, "rows": rows}
    if header:
        section["summary"] = header
    section["_columns"] = columns
    return section


# -- the node view ----------------------------------------------------------------------

PEER_COLUMNS = (
    Column("PEER", "address"),
    Column("AS", "asn"),
    Column("STATE", "state"),
    Column("UPTIME", "uptime"),
    Column("RECEIVED", "received"),
    Column("ACCEPTED", "accepted"),
    Column("ADVERTISED", "advertised"),
    Column("FLAPS", "flaps", wide=True),
    Column("SESSION", "session"),
)
RIB_COLUMNS = (
    Column("FAMILY", "family"),
    Column("DESTINATIONS", "destinations"),
    Column("PATHS", "paths"),
)
FIB_COLUMNS = (Column("PROTOCOL", "protocol"), Column("ROUTES", "routes"))


def node_report(
    *,
    peers: Sequence[Mapping[str, Any]],
    rib: Sequence[Mapping[str, Any]],
    fib: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The node view: GoBGP's neighbors, its RIB per family, the FIB route count."""
    problems = [
        f"peer {p['address']}: {p['state']}" for p in peers if p.get("state") != "Established"
    ]
    sections = [
        _section("Peers", PEER_COLUMNS, [dict(p) for p in peers]),
        _section("RIB", RIB_COLUMNS, [dict(r) for r in rib]),
    ]
    if fib is not None:
        sections.append(_section("FIB", FIB_COLUMNS, [dict(fib)]))
    return {"sections": sections, "problems": problems}


# -- rendering ----------------------------------------------------------------------------

_GOOD = {"Established", "True", "true"}
_NEUTRAL = {"", "Unknown"}


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _paint(text: str, padded: str, color: bool, key: str) -> str:
    if not color or key not in {"state", "ready", "advertised", "applied"}:
        return padded
    if text in _GOOD:
        code = "32"
    elif text in _NEUTRAL:
        code = "33"
    else:
        code = "31"
    return f"\x1b[{code}m{padded}\x1b[0m"


def render(report: Mapping[str, Any], fmt: str, *, color: bool = False) -> str:
    """``table``, ``wide``, ``json`` or ``yaml`` text of ``report``."""
    if fmt in ("json", "yaml"):
        data = {
            "sections": [
                {k: v for k, v in s.items() if not k.startswith("_")} for s in report["sections"]
            ],
            "problems": report["problems"],
        }
        if fmt == "json":
            return json.dumps(data, indent=2, sort_keys=True) + "\n"
        return yaml.safe_dump(data, sort_keys=True)
    wide = fmt == "wide"
    out: list[str] = []
    for section in report["sections"]:
        columns = [c for c in section["_columns"] if wide or not c.wide]
        summary = section.get("summary")
        out.append(section["title"] + (f" ({summary})" if summary else ""))
        if not section["rows"]:
            out.append("  (none)")
            out.append("")
            continue
        cells = [
            [_truncate(_cell(row.get(c.key, "")), 0 if wide else c.width) for c in columns]
            for row in section["rows"]
        ]
        widths = [max(len(c.header), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
        headers = (c.header.ljust(w) for c, w in zip(columns, widths, strict=True))
        out.append(("  " + "  ".join(headers)).rstrip())
        for row in cells:
            parts = [
                _paint(text, text.ljust(w), color, c.key)
                for text, c, w in zip(row, columns, widths, strict=True)
            ]
            out.append("  " + "  ".join(parts).rstrip())
        out.append("")
    if report["problems"]:
        out.append("Down:")
        out.extend(f"  {p}" for p in report["problems"])
    else:
        out.append("All up.")
    return "\n".join(out) + "\n"


def _truncate(text: str, width: int) -> str:
    text = " ".join(text.split())
    if width and len(text) > width:
        return text[: width - 1] + "…"
    return text
