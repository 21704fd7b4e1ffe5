"""A route-reflector node with 1,000 real GoBGP neighbors, end to end.

Run as root from the repository root: ``.venv/bin/python benchmarks/bench_reflector.py``.
Real kube-apiserver; ``bgp operator`` and ``bgp run --no-cluster-controllers --no-fib``
as real processes under the controller's RBAC identity; the reflector's gobgpd in a
network namespace. 1,001 endpoints exist; the clock starts when the route-reflector
policy is created and stops when the reflector's gobgpd lists 1,000 neighbors (the
clients are documentation addresses that never answer: configured, not Established).

Printed: policy -> 1,000 sessions exist, policy -> 1,000 neighbors in GoBGP [< 10 s],
and the agent's RSS with its 1,000 sessions.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bgpctl.controllers.resources import (  # noqa: E402
    BGP_CONFIGURATIONS,
    BGP_ENDPOINTS,
    BGP_PEERING_POLICIES,
)
from bgpctl.envtest import ControlPlane  # noqa: E402
from bgpctl.gobgp.client import GoBGPClient  # noqa: E402
from bgpctl.runtime.client.kube import KubeClient  # noqa: E402
from bgpctl.runtime.fanout import run_bounded  # noqa: E402
from bgpctl.testing.netns import Lab, remove_stale, rss_bytes  # noqa: E402

BGP = str(REPO / ".venv" / "bin" / "bgp")
CLIENTS = 1000


def obj(rt: Any, name: str, spec: dict[str, Any], **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels}
    return {"apiVersion": rt.api_version, "kind": rt.kind, "metadata": meta, "spec": spec}


async def main() -> None:
    remove_stale()
    plane = ControlPlane()
    plane.start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        plane.install_crds(REPO / "manifests" / "crds")
        plane.apply(REPO / "manifests" / "rbac")
        env = {**os.environ, "KUBECONFIG": str(plane.controller_kubeconfig)}
        with Lab() as lab:
            ns = lab.netns("rr")
            hub = lab.netns("hub")
            lab.veth(hub, ns, b_addrs=["2001:db8:ff::1/64"])
            daemon = lab.gobgpd(ns)
            async with await KubeClient.from_kubeconfig(plane.admin_kubeconfig) as admin:
                await admin.create(
                    BGP_CONFIGURATIONS,
                    obj(BGP_CONFIGURATIONS, "default", {"asNumber": 65000, "listenPort": 1790}),
                )
                endpoints = [
                    obj(
                        BGP_ENDPOINTS,
                        "rr-0000",
                        {"address": "2001:db8:ff::1", "asNumber": 65000},
                        rr="on",
                        reflector="yes",
                    )
                ] + [
                    obj(
                        BGP_ENDPOINTS,
                        f"rr-{i:04d}",
                        {"address": f"2001:db8:ff::{0x1000 + i:x}", "asNumber": 65000},
                        rr="on",
                    )
                    for i in range(1, CLIENTS + 1)
                ]

                def create(o: dict[str, Any]) -> Any:
                    return lambda: admin.create(BGP_ENDPOINTS, o)

                await run_bounded([create(o) for o in endpoints], limit=32)
                agent = subprocess.Popen(  # noqa: ASYNC220 - a long-lived child, started once
                    [
                        BGP,
                        "run",
                        "--local-endpoint",
                        "rr-0000",
                        "--gobgp-target",
                        daemon.target,
                        "--no-cluster-controllers",
                        "--no-fib",
                        "--metrics-addr",
                        "0",
                        "--log-level",
                        "warning",
                    ],
                    env=env,
                )
                operator = subprocess.Popen(  # noqa: ASYNC220
                    [BGP, "operator", "--metrics-addr", "0", "--log-level", "warning"], env=env
                )
                procs += [agent, operator]
                async with GoBGPClient(daemon.target) as gobgp:
                    while not (await gobgp.get_bgp()).started:  # noqa: ASYNC110 - polls gobgpd
                        await asyncio.sleep(0.2)
                    await asyncio.sleep(3)  # the operator elected, the caches synced
                    start = time.perf_counter()
                    spec = {
                        "mode": "route-reflector",
                        "selector": {"matchLabels": {"rr": "on"}},
                        "routeReflectorConfig": {
                            "reflectorSelector": {"matchLabels": {"reflector": "yes"}},
                            "clusterID": "10.0.0.1",
                        },
                    }
                    await admin.create(BGP_PEERING_POLICIES, obj(BGP_PEERING_POLICIES, "rr", spec))
                    sessions_at = None
                    while True:
                        if sessions_at is None:
                            status = (await admin.get(BGP_PEERING_POLICIES, "rr")).get("status")
                            if (status or {}).get("activeSessions") == CLIENTS:
                                sessions_at = time.perf_counter() - start
                        if len(await gobgp.list_peers()) >= CLIENTS:
                            break
                        await asyncio.sleep(0.2)
                    peers_at = time.perf_counter() - start
                    print(f"policy -> {CLIENTS} sessions exist: {sessions_at or peers_at:.2f} s")
                    print(
                        f"policy -> {CLIENTS} neighbors in the reflector's GoBGP: {peers_at:.2f} s"
                    )
                    await asyncio.sleep(5)
                    rss = rss_bytes(agent.pid) / 2**20
                    print(f"reflector agent RSS with {CLIENTS} sessions: {rss:.0f} MB")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
        plane.stop()


if __name__ == "__main__":
    asyncio.run(main())
