"""``bgp status`` renderings against golden files (table, wide, json, yaml).

Set ``BGPCTL_UPDATE_GOLDEN=1`` to rewrite the files after an intended change.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bgpctl.cli.statusview import cluster_report, node_report, render

GOLDEN = Path(__file__).parent / "golden"
NOW = datetime(2026, 1, 2, 12, 0, 0, tzinfo=UTC)


def cond(type_: str, status: str, reason: str, message: str = "") -> dict[str, Any]:
    return {"type": type_, "status": status, "reason": reason, "message": message}


def objects() -> dict[str, list[dict[str, Any]]]:
    up = {"configured": True, "state": "Established", "reason": "Established"}
    return {
        "configurations": [
            {
                "metadata": {"name": "default"},
                "spec": {"asNumber": 65000, "listenPort": 1790},
                "status": {
                    "conditions": [cond("Ready", "True", "Ready", "2 nodes run AS 65000")],
                    "nodes": [
                        {"node": "node-b", "ready": True, "routerID": "198.51.100.2"},
                        {"node": "node-a", "ready": True, "routerID": "198.51.100.1"},
                    ],
                },
            }
        ],
        "endpoints": [
            {
                "metadata": {"name": "node-a"},
                "spec": {"address": "198.51.100.1", "asNumber": 65000},
            },
            {
                "metadata": {"name": "node-b"},
                "spec": {"address": "198.51.100.2", "asNumber": 65000},
            },
            {
                "metadata": {"name": "tor"},
                "spec": {
                    "address": "2001:db8::9",
                    "asNumber": 65002,
                    "addressFamilies": [{"afi": "IPv6", "safi": "Unicast"}],
                },
            },
        ],
        "sessions": [
            {
                "metadata": {"name": "mesh-node-a--node-b"},
                "spec": {"localEndpoint": "node-a", "remoteEndpoint": "node-b"},
                "status": {
                    "conditions": [cond("SessionEstablished", "True", "Established")],
                    "endpoints": [
                        {
                            "endpoint": "node-a",
                            **up,
                            "lastTransitionTime": "2026-01-02T09:58:00Z",
                            "receivedPrefixes": 3,
                            "acceptedPrefixes": 3,
                            "advertisedPrefixes": 2,
                            "flapCount": 1,
                        },
                        {
                            "endpoint": "node-b",
                            **up,
                            "lastTransitionTime": "2026-01-02T09:58:01Z",
                            "receivedPrefixes": 2,
                            "acceptedPrefixes": 2,
                            "advertisedPrefixes": 3,
                            "flapCount": 0,
                        },
                    ],
                },
            },
            {
                "metadata": {"name": "node-a-tor"},
                "spec": {"localEndpoint": "node-a", "remoteEndpoint": "tor"},
                "status": {
                    "conditions": [
                        cond("SessionEstablished", "False", "Idle", "node-a: Idle (...)")
                    ],
                    "endpoints": [
                        {
                            "endpoint": "node-a",
                            "configured": True,
                            "state": "Idle",
                            "reason": "Idle",
                            "lastTransitionTime": "2026-01-02T11:59:00Z",
                            "receivedPrefixes": 0,
                            "advertisedPrefixes": 0,
                            "flapCount": 0,
                            "lastError": "the peer rejected our OPEN with a NOTIFICATION "
                            "(bad peer AS: it expects another AS number for us)",
                        }
                    ],
                },
            },
            {
                "metadata": {"name": "x-y"},
                "spec": {"localEndpoint": "x", "remoteEndpoint": "y"},
                "status": {
                    "conditions": [
                        cond(
                            "SessionEstablished",
                            "False",
                            "NoLocalEnd",
                            "neither x nor y is a node with a running bgpctl agent",
                        )
                    ]
                },
            },
        ],
        "peering_policies": [
            {
                "metadata": {"name": "mesh"},
                "spec": {"mode": "mesh"},
                "status": {
                    "matchedEndpoints": 2,
                    "activeSessions": 1,
                    "conditions": [cond("Ready", "True", "Reconciled", "1 sessions")],
                },
            }
        ],
        "advertisements": [
            {
                "metadata": {"name": "services"},
                "status": {
                    "advertisedPrefixCount": 2,
                    "conditions": [
                        cond("Advertised", "False", "Conflict", "node-b: 192.0.2.0/24 is taken")
                    ],
                },
            }
        ],
        "route_policies": [
            {
                "metadata": {"name": "import-all"},
                "spec": {"type": "Import"},
                "status": {"conditions": [cond("Applied", "True", "Applied", "2 nodes")]},
            }
        ],
    }


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("BGPCTL_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


@pytest.mark.parametrize("fmt", ["table", "wide", "json", "yaml"])
def test_cluster_view(fmt: str) -> None:
    report = cluster_report(**objects(), now=NOW)
    check(f"cluster.{fmt}", render(report, fmt))
    assert report["problems"] == [
        "session node-a-tor: Idle: node-a: Idle (...)",
        "session x-y: NoLocalEnd: neither x nor y is a node with a running bgpctl agent",
        "advertisement services: Conflict",
    ]


def test_cluster_view_colour_only_when_asked() -> None:
    report = cluster_report(**objects(), now=NOW)
    assert "\x1b[" not in render(report, "table")
    coloured = render(report, "table", color=True)
    assert "\x1b[32mEstablished" in coloured and "\x1b[31mIdle" in coloured


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_node_view(fmt: str) -> None:
    report = node_report(
        peers=[
            {
                "address": "2001:db8:ab::2",
                "asn": 65000,
                "state": "Established",
                "uptime": "1h2m",
                "received": 1,
                "accepted": 1,
                "advertised": 2,
                "flaps": 0,
                "session": "a-b",
            },
            {
                "address": "2001:db8:ac::3",
                "asn": 65002,
                "state": "Active",
                "uptime": "",
                "received": 0,
                "accepted": 0,
                "advertised": 0,
                "flaps": 0,
                "session": "a-c",
            },
        ],
        rib=[{"family": "ipv6-unicast", "destinations": 2, "paths": 3}],
        fib={"protocol": 196, "routes": 1},
    )
    check(f"node.{fmt}", render(report, fmt))
    assert report["problems"] == ["peer 2001:db8:ac::3: Active"]
