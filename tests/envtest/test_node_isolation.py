"""Node isolation (manifests/admission) on the real API server, with real pod-bound tokens.

Each node agent's token is minted with the TokenRequest API bound to a Pod scheduled on
its Node, exactly as the kubelet does for the DaemonSet's projected token, so the API
server itself puts ``authentication.kubernetes.io/node-name`` into the user's extra
info. The policy must let node-a write its own status entries and finalizer and deny
every write to node-b's, and deny a token that names no node at all.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bgpctl.envtest import ControlPlane

pytestmark = pytest.mark.integration

ADMISSION = Path(__file__).resolve().parents[2] / "manifests" / "admission"
NODE_NAME_KEY = "authentication.kubernetes.io/node-name"
GROUP = "/apis/bgp.miloapis.com/v1alpha1"


def _request(
    plane: ControlPlane, token: str, method: str, path: str, body: Any, content_type: str
) -> tuple[int, dict[str, Any]]:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        plane.server_url + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
    )
    try:
        with urllib.request.urlopen(req, context=context, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _apply_status(
    plane: ControlPlane, token: str, plural: str, name: str, kind: str, status: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """Server-side apply of ``status``, with the writing node's own field manager."""
    entries = status.get("endpoints") or status.get("nodes") or [{}]
    manager = "bgpctl/" + str(entries[0].get("endpoint") or entries[0].get("node"))
    body = {
        "apiVersion": "bgp.miloapis.com/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
        "status": status,
    }
    return _request(
        plane,
        token,
        "PATCH",
        f"{GROUP}/{plural}/{name}/status?fieldManager={manager}&force=true",
        body,
        "application/apply-patch+yaml",
    )


def _merge_finalizers(
    plane: ControlPlane, token: str, name: str, finalizers: list[str]
) -> tuple[int, dict[str, Any]]:
    return _request(
        plane,
        token,
        "PATCH",
        f"{GROUP}/bgpsessions/{name}",
        {"metadata": {"finalizers": finalizers}},
        "application/merge-patch+json",
    )


def _pod_bound_token(plane: ControlPlane, node: str) -> str:
    """A token for bgp-system/bgpctl bound to a Pod on ``node`` (what the kubelet gets)."""
    plane.kubectl("create", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": node}
    }))  # fmt: skip
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"agent-{node}", "namespace": "bgp-system"},
        "spec": {
            "nodeName": node,
            "serviceAccountName": "bgpctl",
            "containers": [{"name": "agent", "image": "localhost/bgpctl:dev"}],
        },
    }
    plane.kubectl("create", "-f", "-", input=json.dumps(pod))
    return plane.kubectl(
        "create", "token", "bgpctl", "-n", "bgp-system",
        "--bound-object-kind=Pod", f"--bound-object-name=agent-{node}",
    ).stdout.strip()  # fmt: skip


@pytest.fixture
def isolated(control_plane_factory: Callable[..., ControlPlane]) -> ControlPlane:
    plane = control_plane_factory()
    plane.apply(ADMISSION)
    objects = [
        {"apiVersion": "bgp.miloapis.com/v1alpha1", "kind": "BGPSession",
         "metadata": {"name": "a-b"},
         "spec": {"localEndpoint": "node-a", "remoteEndpoint": "node-b"}},
        {"apiVersion": "bgp.miloapis.com/v1alpha1", "kind": "BGPConfiguration",
         "metadata": {"name": "default"},
         "spec": {"asNumber": 64512}},
    ]  # fmt: skip
    for obj in objects:
        plane.kubectl("create", "-f", "-", input=yaml.safe_dump(obj))
    return plane


def _wait_enforced(plane: ControlPlane, token: str) -> None:
    """The policy is compiled asynchronously: wait until it denies a foreign entry."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        code, _ = _apply_status(
            plane, token, "bgpsessions", "a-b", "BGPSession",
            {"endpoints": [{"endpoint": "node-b", "configured": True}]},
        )  # fmt: skip
        if code == 422 or code == 403:
            return
        time.sleep(0.5)
    raise AssertionError("the node isolation policy was never enforced")


def test_a_node_writes_its_own_entries_and_nothing_of_another_node(isolated: ControlPlane) -> None:
    plane = isolated
    # node-b's state, written by node-b itself (its own pod-bound token).
    token_a = _pod_bound_token(plane, "node-a")
    token_b = _pod_bound_token(plane, "node-b")
    whoami = json.loads(plane.kubectl("auth", "whoami", "-o", "json", f"--token={token_a}").stdout)[
        "status"
    ]["userInfo"]
    assert whoami["username"] == "system:serviceaccount:bgp-system:bgpctl"
    assert whoami["extra"][NODE_NAME_KEY] == ["node-a"]
    _wait_enforced(plane, token_a)

    entry_b = {"endpoint": "node-b", "configured": True, "state": "Established"}
    code, body = _apply_status(
        plane, token_b, "bgpsessions", "a-b", "BGPSession", {"endpoints": [entry_b]}
    )
    assert code == 200, body.get("message")
    code, body = _merge_finalizers(plane, token_b, "a-b", ["bgp.miloapis.com/session-node-b"])
    assert code == 200, body.get("message")

    # Allowed: node-a's own status entry and own finalizer.
    entry_a = {"endpoint": "node-a", "configured": True, "state": "Active"}
    code, body = _apply_status(
        plane, token_a, "bgpsessions", "a-b", "BGPSession", {"endpoints": [entry_a]}
    )
    assert code == 200, body.get("message")
    assert {e["endpoint"] for e in body["status"]["endpoints"]} == {"node-a", "node-b"}
    both = ["bgp.miloapis.com/session-node-b", "bgp.miloapis.com/session-node-a"]
    code, body = _merge_finalizers(plane, token_a, "a-b", both)
    assert code == 200, body.get("message")

    # Denied: node-a rewriting node-b's entry, or adding a finalizer of another node.
    forged = {**entry_b, "state": "Idle", "configured": False}
    code, body = _apply_status(
        plane, token_a, "bgpsessions", "a-b", "BGPSession", {"endpoints": [forged]}
    )
    assert code in (403, 422), body
    assert "node node-a may change only its own status entry" in body["message"]
    code, body = _merge_finalizers(plane, token_a, "a-b", [*both, "bgp.miloapis.com/session-c"])
    assert code in (403, 422), body
    assert "only its own finalizer" in body["message"]

    # Denied: changing node-b's entry of a configuration's status.nodes[], or adding one
    # for another node.
    code, body = _apply_status(
        plane, token_b, "bgpconfigurations", "default", "BGPConfiguration",
        {"nodes": [{"node": "node-b", "ready": True}]},
    )  # fmt: skip
    assert code == 200, body.get("message")
    for nodes in (
        [{"node": "node-a", "ready": True}, {"node": "node-b", "ready": False}],
        [{"node": "node-a", "ready": True}, {"node": "node-b", "ready": True},
         {"node": "node-c", "ready": True}],
    ):  # fmt: skip
        code, body = _request(
            plane, token_a, "PATCH", f"{GROUP}/bgpconfigurations/default/status",
            {"status": {"nodes": nodes}}, "application/merge-patch+json",
        )  # fmt: skip
        assert code in (403, 422), body
        assert "may change only its own status entry" in body["message"]
    code, body = _apply_status(
        plane, token_a, "bgpconfigurations", "default", "BGPConfiguration",
        {"nodes": [{"node": "node-a", "ready": True}]},
    )  # fmt: skip
    assert code == 200, body.get("message")

    # The state is what the allowed writes made it.
    raw = json.loads(plane.kubectl("get", "bgpsession", "a-b", "-o", "json").stdout)
    assert sorted(raw["metadata"]["finalizers"]) == sorted(both)
    assert {e["endpoint"]: e["state"] for e in raw["status"]["endpoints"]} == {
        "node-a": "Active",
        "node-b": "Established",
    }
    raw = json.loads(plane.kubectl("get", "bgpconfiguration", "default", "-o", "json").stdout)
    assert {e["node"] for e in raw["status"]["nodes"]} == {"node-a", "node-b"}

    # Allowed: what the leader does after node-b is gone — removing its finalizer and
    # its status entries (merge patches, as GoneEndpointReconciler writes them).
    code, body = _merge_finalizers(plane, token_a, "a-b", ["bgp.miloapis.com/session-node-a"])
    assert code == 200, body.get("message")
    code, body = _request(
        plane, token_a, "PATCH", f"{GROUP}/bgpconfigurations/default/status",
        {"status": {"nodes": [e for e in raw["status"]["nodes"] if e["node"] == "node-a"]}},
        "application/merge-patch+json",
    )  # fmt: skip
    assert code == 200, body.get("message")
    assert {e["node"] for e in body["status"]["nodes"]} == {"node-a"}


def test_a_token_without_a_node_is_denied(isolated: ControlPlane) -> None:
    plane = isolated
    _wait_enforced(plane, _pod_bound_token(plane, "node-a"))
    # The static token of the test harness is the same service account, but names no node.
    code, body = _apply_status(
        plane, plane.controller_token, "bgpsessions", "a-b", "BGPSession",
        {"endpoints": [{"endpoint": "node-a", "configured": True}]},
    )  # fmt: skip
    assert code in (403, 422), body
    assert "pod-bound token" in body["message"]
    # RBAC alone would allow it: the same write without the policy's binding succeeds.
    plane.kubectl("delete", "validatingadmissionpolicybinding", "bgpctl-node-isolation")
    deadline = time.monotonic() + 30
    while code != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
        code, body = _apply_status(
            plane, plane.controller_token, "bgpsessions", "a-b", "BGPSession",
            {"endpoints": [{"endpoint": "node-a", "configured": True}]},
        )  # fmt: skip
    assert code == 200, body.get("message")
