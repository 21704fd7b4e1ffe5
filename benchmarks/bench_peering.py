"""Peering-policy benchmark: sessions materialised on a real kube-apiserver.

Run from the repository root: ``.venv/bin/python benchmarks/bench_peering.py``
(about a minute). The peering-policy controller runs in-process on an elected leader
under its RBAC identity, exactly as in ``bgp operator``; the admin creates the
endpoints first, then the policy, and the clock runs from the policy's create call to
the policy status reporting every session as existing (``activeSessions``, counted from
the controller's own cache, i.e. after every session was created and watched back).

1. Route reflector: 1,001 endpoints -> 1,000 sessions. [< 3 s]
2. Mesh: 60 endpoints -> 1,770 sessions. [< 5 s]

Also printed: the write requests the API server served for sessions (its own
``apiserver_request_total``), and how many of them it refused with 429.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bgpctl.controllers.peeringpolicy import LEASE_NAME  # noqa: E402
from bgpctl.controllers.resources import (  # noqa: E402
    BGP_ENDPOINTS,
    BGP_PEERING_POLICIES,
    BGP_SESSIONS,
)
from bgpctl.controllers.setup import prepare_cache, setup_peering_policy  # noqa: E402
from bgpctl.envtest import ControlPlane  # noqa: E402
from bgpctl.log import configure  # noqa: E402
from bgpctl.runtime.cache.informers import InformerCache  # noqa: E402
from bgpctl.runtime.client.kube import KubeClient  # noqa: E402
from bgpctl.runtime.leaderelection.leaselock import LeaseLock  # noqa: E402
from bgpctl.runtime.manager import Manager, ManagerOptions  # noqa: E402
from bgpctl.runtime.recorder import EventRecorder  # noqa: E402


@asynccontextmanager
async def leader(plane: ControlPlane) -> AsyncIterator[None]:
    kube = await KubeClient.from_kubeconfig(plane.controller_kubeconfig, user_agent="bench")
    lock = await LeaseLock.from_kubeconfig(
        plane.controller_kubeconfig, namespace="bgp-system", name=LEASE_NAME, identity="bench"
    )
    recorder = EventRecorder(kube, component="bgpctl", host="bench")
    async with kube, lock, recorder:
        manager = Manager(
            ManagerOptions(leader_election=True, leader_election_id=LEASE_NAME),
            leader_election_lock=lock,
        )
        cache = InformerCache.for_client(kube)
        prepare_cache(cache)
        manager.add_cache(cache, name="informers")
        setup_peering_policy(manager, cache=cache, client=kube, recorder=recorder)
        task = asyncio.create_task(manager.start())
        try:
            await asyncio.wait_for(manager.wait_elected(), 30)
            yield
        finally:
            manager.stop()
            await asyncio.wait_for(task, 35)


def session_requests(plane: ControlPlane) -> dict[str, float]:
    """Requests on bgpsessions so far, by verb and code class."""
    text = plane.kubectl("get", "--raw", "/metrics").stdout
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("apiserver_request_total{") or 'resource="bgpsessions"' not in line:
            continue
        verb = re.search(r'verb="([A-Z]+)"', line)
        code = re.search(r'code="(\d+)"', line)
        if verb and code and verb.group(1) in {"POST", "PATCH", "PUT", "DELETE", "APPLY"}:
            key = f"{verb.group(1)} {code.group(1)}"
            out[key] = out.get(key, 0.0) + float(line.rsplit(" ", 1)[1])
    return out


def endpoint(name: str, address: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": BGP_ENDPOINTS.api_version,
        "kind": BGP_ENDPOINTS.kind,
        "metadata": {"name": name, "labels": labels},
        "spec": {"address": address, "asNumber": 65000},
    }


async def create_all(kube: KubeClient, objects: list[dict[str, Any]]) -> None:
    limit = asyncio.Semaphore(32)

    async def one(obj: dict[str, Any]) -> None:
        async with limit:
            await kube.create(BGP_ENDPOINTS, obj)

    await asyncio.gather(*(one(o) for o in objects))


async def materialise(
    plane: ControlPlane, kube: KubeClient, label: str, spec: dict[str, Any], expected: int
) -> None:
    before = session_requests(plane)
    name = f"bench-{label}"
    start = time.perf_counter()
    await kube.create(
        BGP_PEERING_POLICIES,
        {
            "apiVersion": BGP_PEERING_POLICIES.api_version,
            "kind": BGP_PEERING_POLICIES.kind,
            "metadata": {"name": name},
            "spec": spec,
        },
    )
    while True:
        status = (await kube.get(BGP_PEERING_POLICIES, name)).get("status") or {}
        if status.get("activeSessions") == expected:
            break
        if time.perf_counter() - start > 300:
            raise TimeoutError(f"{label}: {status}")
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - start
    existing = len((await kube.list(BGP_SESSIONS)).items)
    after = session_requests(plane)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    print(f"{label}: {expected} sessions in {elapsed:.2f} s ({existing} exist)")
    print(f"  session writes by status: { {k: int(v) for k, v in sorted(delta.items()) if v} }")


async def main() -> None:
    configure(level="warning")
    plane = ControlPlane()
    plane.start()
    try:
        plane.install_crds(REPO / "manifests" / "crds")
        plane.apply(REPO / "manifests" / "rbac")
        async with await KubeClient.from_kubeconfig(plane.admin_kubeconfig) as kube:
            rr = [endpoint(f"rr-{i:04d}", f"2001:db8:1::{i:x}", {"rr": "on"}) for i in range(1001)]
            rr[0]["metadata"]["labels"]["reflector"] = "yes"
            mesh = [endpoint(f"m-{i:02d}", f"2001:db8:2::{i:x}", {"mesh": "on"}) for i in range(60)]
            start = time.perf_counter()
            await create_all(kube, rr + mesh)
            print(
                f"(admin: {len(rr) + len(mesh)} endpoints created, 32 in flight, "
                f"in {time.perf_counter() - start:.2f} s)"
            )
            async with leader(plane):
                await materialise(
                    plane,
                    kube,
                    "route-reflector",
                    {
                        "mode": "route-reflector",
                        "selector": {"matchLabels": {"rr": "on"}},
                        "routeReflectorConfig": {
                            "reflectorSelector": {"matchLabels": {"reflector": "yes"}},
                            "clusterID": "10.0.0.1",
                        },
                    },
                    1000,
                )
                await materialise(
                    plane, kube, "mesh", {"selector": {"matchLabels": {"mesh": "on"}}}, 1770
                )
    finally:
        plane.stop()


if __name__ == "__main__":
    asyncio.run(main())
