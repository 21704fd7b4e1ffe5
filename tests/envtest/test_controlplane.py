"""The control-plane harness itself: identities and RBAC, restarts, compaction, GC.

The RBAC cases prove the controller identity has exactly the rights the project's
ClusterRole and Role grant — no more (it is not an admin) and no less.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from bgpctl.envtest import ControlPlane

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("verb", "resource", "namespace", "allowed"),
    [
        # granted: each row is a rule of manifests/rbac (docs/deploy.md, "RBAC")
        ("list", "bgpsessions.bgp.miloapis.com", None, True),
        ("watch", "bgpendpoints.bgp.miloapis.com", None, True),
        ("watch", "bgpadvertisements.bgp.miloapis.com", None, True),
        ("list", "bgproutepolicies.bgp.miloapis.com", None, True),
        ("get", "bgpendpoints.bgp.miloapis.com", None, True),
        ("get", "bgpconfigurations.bgp.miloapis.com", None, True),
        ("get", "bgpsessions.bgp.miloapis.com", None, True),
        ("get", "bgppeeringpolicies.bgp.miloapis.com", None, False),
        ("create", "bgpsessions.bgp.miloapis.com", None, True),
        ("patch", "bgpsessions.bgp.miloapis.com", None, True),
        ("delete", "bgpsessions.bgp.miloapis.com", None, True),
        ("patch", "bgpsessions.bgp.miloapis.com:status", None, True),
        ("patch", "bgpconfigurations.bgp.miloapis.com:status", None, True),
        ("patch", "bgppeeringpolicies.bgp.miloapis.com:status", None, True),
        ("patch", "bgpadvertisements.bgp.miloapis.com:status", None, True),
        ("patch", "bgproutepolicies.bgp.miloapis.com:status", None, True),
        ("update", "bgppeeringpolicies.bgp.miloapis.com:finalizers", None, True),
        ("create", "events", "default", True),
        ("patch", "events", "default", True),
        ("create", "events", "bgp-system", True),
        ("create", "leases.coordination.k8s.io", "bgp-system", True),
        ("get", "leases.coordination.k8s.io/bgpctl-peering", "bgp-system", True),
        ("update", "leases.coordination.k8s.io/bgpctl-peering", "bgp-system", True),
        # not granted: no code path needs them
        ("get", "bgpadvertisements.bgp.miloapis.com", None, False),
        ("get", "bgproutepolicies.bgp.miloapis.com", None, False),
        ("update", "bgpsessions.bgp.miloapis.com", None, False),
        ("update", "bgpsessions.bgp.miloapis.com:status", None, False),
        ("patch", "bgpendpoints.bgp.miloapis.com:status", None, False),
        ("update", "bgpadvertisements.bgp.miloapis.com", None, False),
        ("patch", "bgpadvertisements.bgp.miloapis.com", None, False),
        ("patch", "bgproutepolicies.bgp.miloapis.com", None, False),
        ("update", "bgpadvertisements.bgp.miloapis.com:finalizers", None, False),
        ("create", "events", "kube-system", False),
        ("update", "events", "default", False),
        ("list", "events", "default", False),
        ("get", "leases.coordination.k8s.io/other", "bgp-system", False),
        ("update", "leases.coordination.k8s.io/other", "bgp-system", False),
        ("list", "leases.coordination.k8s.io", "bgp-system", False),
        ("watch", "leases.coordination.k8s.io", "bgp-system", False),
        ("create", "leases.coordination.k8s.io", "default", False),
        ("create", "bgpconfigurations.bgp.miloapis.com", None, False),
        ("delete", "bgpendpoints.bgp.miloapis.com", None, False),
        ("update", "bgppeeringpolicies.bgp.miloapis.com", None, False),
        ("update", "bgpendpoints.bgp.miloapis.com:finalizers", None, False),
        ("list", "secrets", "default", False),
        ("list", "nodes", None, False),
    ],
)
def test_controller_identity_has_exactly_the_project_rbac(
    control_plane: ControlPlane, verb: str, resource: str, namespace: str | None, allowed: bool
) -> None:
    resource, _, subresource = resource.partition(":")
    args = ["auth", "can-i", verb, resource]
    if subresource:
        args += [f"--subresource={subresource}"]
    if namespace:
        args += ["-n", namespace]
    proc = control_plane.kubectl(*args, as_controller=True, check=False)
    assert proc.stdout.strip() == ("yes" if allowed else "no"), proc.stdout + proc.stderr


def test_controller_identity_is_the_service_account(control_plane: ControlPlane) -> None:
    out = control_plane.kubectl("auth", "whoami", "-o", "json", as_controller=True).stdout
    info = json.loads(out)["status"]["userInfo"]
    assert info["username"] == "system:serviceaccount:bgp-system:bgpctl"
    assert "system:serviceaccounts:bgp-system" in info["groups"]


def test_restart_keeps_data_and_compaction_advances(
    control_plane_factory: Callable[..., ControlPlane],
) -> None:
    plane = control_plane_factory()
    plane.kubectl("create", "configmap", "survivor", "--from-literal=k=v")
    first = plane.compact_etcd()
    plane.restart_apiserver()
    out = plane.kubectl("get", "configmap", "survivor", "-o", "jsonpath={.data.k}").stdout
    assert out == "v"
    plane.kubectl("create", "configmap", "second")
    assert plane.compact_etcd() > first


def test_controller_manager_garbage_collects_owned_objects(
    control_plane_factory: Callable[..., ControlPlane],
) -> None:
    plane = control_plane_factory()
    plane.start_controller_manager()
    owner = json.loads(plane.kubectl("create", "configmap", "owner", "-o", "json").stdout)
    dependent = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "dependent",
            "namespace": "default",
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "name": "owner",
                    "uid": owner["metadata"]["uid"],
                }
            ],
        },
    }
    plane.kubectl("create", "-f", "-", input=json.dumps(dependent))
    plane.kubectl("delete", "configmap", "owner")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        proc = plane.kubectl("get", "configmap", "dependent", check=False)
        if proc.returncode != 0 and "NotFound" in proc.stderr:
            return
        time.sleep(0.5)
    pytest.fail("dependent ConfigMap was not garbage-collected within 60 s")
