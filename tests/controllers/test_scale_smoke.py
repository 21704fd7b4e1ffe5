"""The scale simulation in its bounded CI form: 3 agent processes, one real API server.

Each agent is ``benchmarks/sim_agent.py``: the real agent as ``bgp run
--no-cluster-controllers --no-fib`` (field-selected session cache, slim endpoints)
against an in-process fake GoBGP. The cluster has 40 endpoints and 40 sessions, 3 of
each node's. Checked from the API server's side: every node configures exactly its
own sessions (and writes nothing on the others), no agent holds the Lease, and once
converged the agents make no writes to bgpctl's resources at all.
``benchmarks/bench_scale.py`` is the measured version (N = 10, 25, 50).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bgpctl.controllers.peeringpolicy import LEASE_NAME
from bgpctl.controllers.resources import BGP_CONFIGURATIONS, BGP_ENDPOINTS, BGP_SESSIONS
from bgpctl.envtest import ControlPlane
from bgpctl.runtime.client.errors import NotFound
from bgpctl.runtime.client.interfaces import LEASES
from bgpctl.runtime.client.kube import KubeClient

pytestmark = pytest.mark.integration

AGENT = Path(__file__).resolve().parents[2] / "benchmarks" / "sim_agent.py"
NODES, ENDPOINTS, PER_NODE = 3, 40, 3
WRITES = ("POST", "PUT", "PATCH", "DELETE", "APPLY")


def obj(rt: Any, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": rt.api_version, "kind": rt.kind, "metadata": {"name": name}, "spec": spec}


def bgp_writes(plane: ControlPlane) -> float:
    total = 0.0
    for line in plane.kubectl("get", "--raw", "/metrics").stdout.splitlines():
        if (
            line.startswith("apiserver_request_total{")
            and 'group="bgp.miloapis.com"' in line
            and re.search(r'verb="(' + "|".join(WRITES) + ')"', line)
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_agents_configure_only_their_sessions_and_go_quiet(
    control_plane_factory: Callable[..., ControlPlane],
) -> None:
    plane = control_plane_factory()
    env = {**os.environ, "KUBECONFIG": str(plane.controller_kubeconfig)}
    mine = {
        f"e{i}": {f"n{i}-{k}" for k in range(PER_NODE)} for i in range(NODES)
    }  # node -> its sessions
    agents: list[subprocess.Popen[bytes]] = []
    async with await KubeClient.from_kubeconfig(plane.admin_kubeconfig) as admin:
        await admin.create(
            BGP_CONFIGURATIONS,
            obj(BGP_CONFIGURATIONS, "default", {"asNumber": 65000, "listenPort": 1790}),
        )
        for i in range(ENDPOINTS):
            spec = {"address": f"2001:db8:5d::{i + 1:x}", "asNumber": 65000}
            await admin.create(BGP_ENDPOINTS, obj(BGP_ENDPOINTS, f"e{i}", spec))
        sessions = [
            (f"n{i}-{k}", f"e{i}", f"e{NODES + PER_NODE * i + k}")
            for i in range(NODES)
            for k in range(PER_NODE)
        ]
        sessions += [(f"f{j}", f"e{20 + j % 20}", f"e{20 + (j + 1) % 20}") for j in range(31)]
        for name, local, remote in sessions:
            spec = {"localEndpoint": local, "remoteEndpoint": remote}
            await admin.create(BGP_SESSIONS, obj(BGP_SESSIONS, name, spec))
        try:
            for node in mine:
                agents.append(subprocess.Popen([sys.executable, str(AGENT), node], env=env))  # noqa: ASYNC220

            async def writers() -> dict[str, set[str]]:
                out: dict[str, set[str]] = {}
                for s in (await admin.list(BGP_SESSIONS)).items:
                    for entry in (s.get("status") or {}).get("endpoints") or []:
                        if entry.get("configured"):
                            out.setdefault(entry["endpoint"], set()).add(s["metadata"]["name"])
                return out

            async with asyncio.timeout(60):
                while await writers() != mine:  # noqa: ASYNC110 - polls the API server
                    await asyncio.sleep(0.5)
            await asyncio.sleep(3)  # the last status writes and Events land
            before = bgp_writes(plane)
            await asyncio.sleep(10)
            assert bgp_writes(plane) == before
            assert all(a.poll() is None for a in agents)
            try:
                lease = await admin.get(LEASES, LEASE_NAME, namespace="bgp-system")
            except NotFound:
                lease = None
            assert lease is None
        finally:
            for agent in agents:
                agent.terminate()
            for agent in agents:
                agent.wait(30)
