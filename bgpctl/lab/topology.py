"""The lab's example topology: one configuration, one endpoint per node, a full mesh."""

from __future__ import annotations

import itertools
from typing import Any

API_VERSION = "bgp.miloapis.com/v1alpha1"
LAB_LABEL = "bgp.miloapis.com/lab"
ASN = 64512
LISTEN_PORT = 1790


def _obj(kind: str, name: str, spec: dict[str, Any], *, labelled: bool) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if labelled:
        metadata["labels"] = {LAB_LABEL: "true"}
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


def session_name(a: str, b: str) -> str:
    """Name of the session between endpoints ``a`` and ``b``."""
    return f"{a}--{b}"


def topology(endpoints: dict[str, str]) -> list[dict[str, Any]]:
    """Objects for ``endpoints`` (name -> address): config, endpoints, full-mesh sessions.

    Sessions are created directly: the peering-policy controller that would generate
    them from a ``BGPPeeringPolicy`` does not exist yet.
    """
    objs = [
        _obj(
            "BGPConfiguration",
            "default",
            {"asNumber": ASN, "listenPort": LISTEN_PORT},
            labelled=False,
        )
    ]
    for name, address in endpoints.items():
        objs.append(_obj("BGPEndpoint", name, {"address": address, "asNumber": ASN}, labelled=True))
    for a, b in itertools.combinations(endpoints, 2):
        spec = {"localEndpoint": a, "remoteEndpoint": b, "holdTime": 9, "keepaliveTime": 3}
        objs.append(_obj("BGPSession", session_name(a, b), spec, labelled=True))
    return objs


def session_states(sessions: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Session name -> {endpoint: FSM state} for both ends ("-" until reported)."""
    table: dict[str, dict[str, str]] = {}
    for raw in sessions:
        spec = raw.get("spec") or {}
        ends = {spec.get("localEndpoint", "?"): "-", spec.get("remoteEndpoint", "?"): "-"}
        for entry in (raw.get("status") or {}).get("endpoints") or []:
            ends[entry.get("endpoint", "?")] = entry.get("state") or "-"
        table[raw["metadata"]["name"]] = ends
    return table


def all_established(table: dict[str, dict[str, str]], expected: int) -> bool:
    """True when ``expected`` sessions exist and every end of each is Established."""
    return len(table) == expected and all(
        state == "Established" for ends in table.values() for state in ends.values()
    )


def format_table(table: dict[str, dict[str, str]]) -> str:
    """A small text table: session, then each end and its state."""
    rows = [["SESSION", "END", "STATE", "END", "STATE"]]
    for name, ends in sorted(table.items()):
        cells = [name]
        for endpoint, state in list(ends.items())[:2]:
            cells += [endpoint, state]
        rows.append(cells + [""] * (5 - len(cells)))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
