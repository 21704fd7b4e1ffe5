"""``bgp operator`` against a real kube-apiserver: two replicas, one active.

Both replicas run in-process (``run_operator``) under the controller's RBAC identity
and campaign for the Lease ``bgp-system/bgpctl-peering``; the holder materialises a
peering policy's sessions. When it stops (and releases the Lease) the other takes over
and acts on the next policy. The Deployment manifest is accepted by the server.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bgpctl.cli.operator import OperatorOptions, run_operator
from bgpctl.controllers.peeringpolicy import LEASE_NAME
from bgpctl.controllers.resources import BGP_ENDPOINTS, BGP_PEERING_POLICIES, BGP_SESSIONS
from bgpctl.envtest import ControlPlane
from bgpctl.runtime.client.interfaces import LEASES
from bgpctl.runtime.client.kube import KubeClient

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def obj(rt: Any, name: str, spec: dict[str, Any], **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels}
    return {"apiVersion": rt.api_version, "kind": rt.kind, "metadata": meta, "spec": spec}


async def eventually(check: Callable[[], Any], within: float = 30.0) -> Any:
    async with asyncio.timeout(within):
        while not (result := await check()):  # noqa: ASYNC110 - polls the API server
            await asyncio.sleep(0.1)
        return result


async def test_two_replicas_one_leader_and_takeover(
    control_plane_factory: Callable[..., ControlPlane],
) -> None:
    plane = control_plane_factory()
    replicas: dict[str, asyncio.Task[None]] = {}
    async with await KubeClient.from_kubeconfig(plane.admin_kubeconfig) as admin:
        for i in range(3):
            spec = {"address": f"2001:db8:0e::{i + 1}", "asNumber": 65000}
            await admin.create(BGP_ENDPOINTS, obj(BGP_ENDPOINTS, f"e{i}", spec, mesh="on"))
        try:
            for name in ("op-1", "op-2"):
                options = OperatorOptions(
                    kubeconfig=str(plane.controller_kubeconfig),
                    metrics_addr="",
                    handle_signals=False,
                    identity=name,
                )
                replicas[name] = asyncio.create_task(run_operator(options))
            selector = {"selector": {"matchLabels": {"mesh": "on"}}}
            await admin.create(BGP_PEERING_POLICIES, obj(BGP_PEERING_POLICIES, "first", selector))

            async def sessions(prefix: str) -> int:
                items = (await admin.list(BGP_SESSIONS)).items
                return sum(1 for s in items if s["metadata"]["name"].startswith(prefix))

            await eventually(lambda: _equals(sessions("first-"), 3))
            lease = await admin.get(LEASES, LEASE_NAME, namespace="bgp-system")
            leader = lease["spec"]["holderIdentity"]
            assert leader in replicas

            replicas[leader].cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await replicas[leader]
            del replicas[leader]
            (standby,) = replicas

            async def held_by_standby() -> bool:
                got = await admin.get(LEASES, LEASE_NAME, namespace="bgp-system")
                return bool(got["spec"].get("holderIdentity") == standby)

            await eventually(held_by_standby, within=40)
            await admin.create(BGP_PEERING_POLICIES, obj(BGP_PEERING_POLICIES, "second", selector))
            await eventually(lambda: _equals(sessions("second-"), 3))
        finally:
            for task in replicas.values():
                task.cancel()
            await asyncio.gather(*replicas.values(), return_exceptions=True)
    plane.kubectl(
        "apply", "--server-side", "--dry-run=server", "-k", str(REPO / "manifests" / "operator")
    )
    # The operator layout: the agents leave the cluster-wide controllers to the operator,
    # which has an account of its own (node isolation does not apply to it).
    docs = list(
        yaml.safe_load_all(plane.kubectl("kustomize", str(REPO / "manifests" / "operator")).stdout)
    )
    kinds = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    agent = next(
        c
        for c in kinds[("DaemonSet", "bgpctl")]["spec"]["template"]["spec"]["containers"]
        if c["name"] == "agent"
    )
    assert "--no-cluster-controllers" in agent["args"]
    operator = kinds[("Deployment", "bgpctl-operator")]["spec"]["template"]["spec"]
    assert operator["serviceAccountName"] == "bgpctl-operator"
    assert ("ServiceAccount", "bgpctl-operator") in kinds


async def _equals(value: Any, expected: int) -> bool:
    return bool(await value == expected)
