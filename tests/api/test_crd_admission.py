"""The CRDs on a real kube-apiserver: establishment, rejection of bad input, defaults.

Covers admission-time validation (OpenAPI bounds and CEL rules), server-side
defaulting, printer columns, short names and the ``bgp`` category. Reconciler
behaviour is not covered here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bgpctl.api.v1alpha1 import ALL_KINDS, API_VERSION
from bgpctl.envtest import ControlPlane
from tests.api.invalid_cases import CASES

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def manifest(kind: str, name: str, spec: dict[str, Any] | None) -> str:
    obj: dict[str, Any] = {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}}
    if spec is not None:
        obj["spec"] = spec
    return json.dumps(obj)


def test_all_crds_established(control_plane: ControlPlane) -> None:
    out = control_plane.kubectl("get", "crd", "-o", "json").stdout
    crds = {c["metadata"]["name"]: c for c in json.loads(out)["items"]}
    for kind in ALL_KINDS:
        crd = crds[f"{kind.plural}.bgp.miloapis.com"]
        conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
        assert conditions.get("Established") == "True", kind.kind
        assert conditions.get("NamesAccepted") == "True", kind.kind


def test_at_least_forty_invalid_cases() -> None:
    assert len(CASES) >= 40
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize(
    ("kind", "name", "spec", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_invalid_object_rejected_at_admission(
    control_plane: ControlPlane, kind: str, name: str, spec: dict[str, Any] | None, expected: str
) -> None:
    proc = control_plane.kubectl(
        "create", "--dry-run=server", "-f", "-", input=manifest(kind, name, spec), check=False
    )
    assert proc.returncode != 0, f"{kind}/{name} was accepted: {spec}"
    assert "is invalid" in proc.stderr, proc.stderr
    assert expected in proc.stderr, proc.stderr


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_example_applies(control_plane: ControlPlane, example: str) -> None:
    path = EXAMPLES / example
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert docs, example
    control_plane.kubectl("apply", "--dry-run=server", "-f", str(path))


def test_examples_cover_the_documented_scenarios() -> None:
    names = {p.stem for p in EXAMPLES.glob("*.yaml")}
    assert {"mesh", "route-reflector", "ebgp-peering", "advertisement", "route-filtering"} <= names


def _create(plane: ControlPlane, kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    out = plane.kubectl("create", "-o", "json", "-f", "-", input=manifest(kind, name, spec)).stdout
    created: dict[str, Any] = json.loads(out)
    return created


def test_server_side_defaults(control_plane: ControlPlane) -> None:
    plane = control_plane
    try:
        cfg = _create(plane, "BGPConfiguration", "default", {"asNumber": 64512})
        assert cfg["spec"]["listenPort"] == 1790
        assert cfg["spec"]["routerIDSource"] == "NodeIP"
        sess = _create(
            plane, "BGPSession", "defaults-a-b", {"localEndpoint": "a", "remoteEndpoint": "b"}
        )
        assert sess["spec"]["holdTime"] == 90
        assert sess["spec"]["keepaliveTime"] == 30
        pp = _create(plane, "BGPPeeringPolicy", "defaults-pp", {"selector": {}})
        assert pp["spec"]["mode"] == "mesh"
        ep = _create(
            plane,
            "BGPEndpoint",
            "defaults-ep",
            {"address": "192.0.2.10", "asNumber": 64512, "addressFamilies": [{"afi": "IPv4"}]},
        )
        assert ep["spec"]["addressFamilies"] == [{"afi": "IPv4", "safi": "Unicast"}]
        assert "port" not in ep["spec"]
    finally:
        plane.kubectl(
            "delete",
            "--ignore-not-found",
            "bgpconfiguration/default",
            "bgpsession/defaults-a-b",
            "bgppeeringpolicy/defaults-pp",
            "bgpendpoint/defaults-ep",
        )


def test_valid_edge_values_accepted(control_plane: ControlPlane) -> None:
    """The bounds are inclusive: the largest AS, port 65535, hold 3 / keepalive 1, /32 and /128."""
    cases = [
        (
            "BGPEndpoint",
            "edge-ep",
            {"address": "2001:db8::ffff", "asNumber": 4294967295, "port": 65535},
        ),
        (
            "BGPSession",
            "edge-s",
            {**{"localEndpoint": "x", "remoteEndpoint": "y"}, "holdTime": 3, "keepaliveTime": 1},
        ),
        (
            "BGPAdvertisement",
            "edge-adv",
            {
                "prefixes": ["192.0.2.1/32", "2001:db8::1/128", "0.0.0.0/0"],
                "communities": ["65535:65535", "0:0", "no-export"],
                "largeCommunities": ["4294967295:0:4294967295"],
                "localPref": 4294967295,
            },
        ),
        (
            "BGPRoutePolicy",
            "edge-rp",
            {
                "type": "Export",
                "statements": [
                    {
                        "action": "Accept",
                        "prefixSet": [
                            {"cidr": "2001:db8::/32", "maskLengthMin": 32, "maskLengthMax": 128}
                        ],
                    },
                    {"action": "Reject"},
                ],
            },
        ),
    ]
    for kind, name, spec in cases:
        control_plane.kubectl(
            "create", "--dry-run=server", "-f", "-", input=manifest(kind, name, spec)
        )


def test_kubectl_get_bgp_lists_all_six_kinds(control_plane: ControlPlane) -> None:
    plane = control_plane
    objs = [
        ("BGPConfiguration", "default", {"asNumber": 64512}),
        ("BGPEndpoint", "cat-ep", {"address": "198.51.100.1", "asNumber": 64512}),
        ("BGPSession", "cat-s", {"localEndpoint": "cat-ep", "remoteEndpoint": "cat-ep2"}),
        ("BGPPeeringPolicy", "cat-pp", {"selector": {"matchLabels": {"x": "y"}}}),
        ("BGPAdvertisement", "cat-adv", {"prefixes": ["203.0.113.0/24"]}),
        ("BGPRoutePolicy", "cat-rp", {"type": "Import", "statements": [{"action": "Accept"}]}),
    ]
    try:
        for kind, name, spec in objs:
            _create(plane, kind, name, spec)
        names = set(plane.kubectl("get", "bgp", "-o", "name").stdout.split())
        for kind, name, _ in objs:
            assert f"{kind.lower()}.bgp.miloapis.com/{name}" in names
        table = plane.kubectl("get", "bgpsess").stdout.splitlines()[0].split()
        assert table[:5] == ["NAME", "LOCAL", "REMOTE", "CONFIGURED", "ESTABLISHED"]
        for kind in ALL_KINDS:
            for short in kind.short_names:
                plane.kubectl("get", short)
    finally:
        for kind, name, _ in objs:
            plane.kubectl("delete", "--ignore-not-found", f"{kind.lower()}/{name}")
