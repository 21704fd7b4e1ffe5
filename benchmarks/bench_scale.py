"""Scale simulation: N node agents as real processes against one real kube-apiserver.

Run from the repository root: ``.venv/bin/python benchmarks/bench_scale.py [N ...]``
(default 10 25 50; several minutes). The cluster holds 1,000 BGPEndpoints and 1,000
BGPSessions; the first 50 endpoints are nodes with 10 sessions each, the other
sessions join endpoints that are not simulated. Agents are started in batches (10,
then 15 more to 25, then 25 more to 50), each a ``sim_agent.py`` process: the real
agent (``run_node_agent`` as ``bgp run --no-cluster-controllers --no-fib``) against
an in-process fake GoBGP (no BGP sessions, so no state changes after convergence).

For each N it prints, read from kube-apiserver's own ``apiserver_request_total``
(requests from the agents only; the harness makes none inside the windows but its
two metric scrapes):

- convergence: batch started -> every session of the batch's nodes carries that
  node's ``configured: true`` status entry;
- steady state (30 s, after convergence): requests/s (reads incl. watch opens) and
  writes/min;
- a policy change: a BGPRoutePolicy selecting every node is created -> every agent's
  status entry on it (time), and the requests/s and writes in the 20 s after;
- agent RSS (median and max over the N processes, ``VmRSS``).

Then a least-squares line over N for each rate, extrapolated to 1,000 and 5,000 nodes.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
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
    BGP_ROUTE_POLICIES,
    BGP_SESSIONS,
)
from bgpctl.controllers.sessioncause import CONNECT_QUIET  # noqa: E402
from bgpctl.controllers.sessionstatus import POLL_INTERVAL  # noqa: E402
from bgpctl.envtest import ControlPlane  # noqa: E402
from bgpctl.runtime.client.kube import KubeClient  # noqa: E402
from bgpctl.runtime.fanout import run_bounded  # noqa: E402
from bgpctl.testing.netns import rss_bytes  # noqa: E402

ENDPOINTS = 1000
SESSIONS = 1000
NODES = 50
PER_NODE = 10
WRITES = {"POST", "PUT", "PATCH", "DELETE", "APPLY"}


def obj(rt: Any, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": rt.api_version, "kind": rt.kind, "metadata": {"name": name}, "spec": spec}


def ep(i: int) -> str:
    return f"e-{i:04d}"


def node_sessions(i: int) -> list[tuple[str, str, str]]:
    return [(f"n{i}-{k}", ep(i), ep(NODES + PER_NODE * i + k)) for k in range(PER_NODE)]


def all_sessions() -> list[tuple[str, str, str]]:
    out = [s for i in range(NODES) for s in node_sessions(i)]
    first = NODES + PER_NODE * NODES
    span = ENDPOINTS - first
    for j in range(SESSIONS - len(out)):
        out.append((f"f-{j}", ep(first + j % span), ep(first + (j + 1) % span)))
    return out


def request_counts(plane: ControlPlane) -> tuple[float, float]:
    """(non-write requests, write requests) served so far, WATCH streams counted once."""
    reads = writes = 0.0
    for line in plane.kubectl("get", "--raw", "/metrics").stdout.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        verb = re.search(r'verb="([A-Z]+)"', line)
        value = float(line.rsplit(" ", 1)[1])
        if verb and verb.group(1) in WRITES:
            writes += value
        else:
            reads += value
    return reads, writes


async def window(plane: ControlPlane, seconds: float) -> tuple[float, float]:
    r0, w0 = request_counts(plane)
    await asyncio.sleep(seconds)
    r1, w1 = request_counts(plane)
    return (r1 - r0) / seconds, (w1 - w0)


async def converged(admin: KubeClient, nodes: range) -> bool:
    wanted = {(name, ep(i)) for i in nodes for name, _, _ in node_sessions(i)}
    done = set()
    for s in (await admin.list(BGP_SESSIONS)).items:
        for entry in (s.get("status") or {}).get("endpoints") or []:
            if entry.get("configured"):
                done.add((s["metadata"]["name"], entry["endpoint"]))
    return wanted <= done


async def policy_applied(admin: KubeClient, name: str, n: int) -> bool:
    status = (await admin.get(BGP_ROUTE_POLICIES, name)).get("status") or {}
    return len(status.get("nodes") or []) >= n


async def poll(check: Any, within: float = 600) -> float:
    start = time.perf_counter()
    while not await check():
        if time.perf_counter() - start > within:
            raise TimeoutError
        await asyncio.sleep(1)
    return time.perf_counter() - start


def fit(xs: list[int], ys: list[float]) -> tuple[float, float]:
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0
    return slope, my - slope * mx


async def main(sizes: list[int]) -> None:
    plane = ControlPlane()
    plane.start()
    agents: list[subprocess.Popen[bytes]] = []
    rows: list[dict[str, float]] = []
    try:
        plane.install_crds(REPO / "manifests" / "crds")
        plane.apply(REPO / "manifests" / "rbac")
        env = {**os.environ, "KUBECONFIG": str(plane.controller_kubeconfig)}
        async with await KubeClient.from_kubeconfig(plane.admin_kubeconfig) as admin:
            await admin.create(
                BGP_CONFIGURATIONS,
                obj(BGP_CONFIGURATIONS, "default", {"asNumber": 65000, "listenPort": 1790}),
            )
            calls = [
                (
                    lambda i=i: admin.create(
                        BGP_ENDPOINTS,
                        obj(
                            BGP_ENDPOINTS,
                            ep(i),
                            {"address": f"2001:db8:5c::{i + 1:x}", "asNumber": 65000},
                        ),
                    )
                )
                for i in range(ENDPOINTS)
            ] + [
                (
                    lambda s=s: admin.create(
                        BGP_SESSIONS,
                        obj(BGP_SESSIONS, s[0], {"localEndpoint": s[1], "remoteEndpoint": s[2]}),
                    )
                )
                for s in all_sessions()
            ]
            await run_bounded(calls, limit=32)
            await asyncio.sleep(10)
            base_rps, base_writes = await window(plane, 30)
            print(
                f"N=  0 (the API server's own traffic, subtracted below): {base_rps:.2f} req/s, "
                f"{base_writes * 2:.0f} writes/min",
                flush=True,
            )
            for size in sizes:
                first = len(agents)
                start = time.perf_counter()
                for i in range(first, size):
                    agents.append(
                        subprocess.Popen(  # noqa: ASYNC220 - long-lived children
                            [sys.executable, str(REPO / "benchmarks" / "sim_agent.py"), ep(i)],
                            env=env,
                        )
                    )
                await poll(lambda f=first, s=size: converged(admin, range(f, s)))
                convergence = time.perf_counter() - start
                # The simulated peers never answer: each session's entry gets its
                # "cannot connect" lastError once, CONNECT_QUIET after the neighbor was
                # added and at the next poll. That one write per session is a change;
                # the steady-state window starts after it.
                await asyncio.sleep(CONNECT_QUIET + 2 * POLL_INTERVAL)
                steady_rps, steady_writes = await window(plane, 30)
                steady_rps -= base_rps
                steady_writes -= base_writes
                name = f"all-{size}"
                policy = {
                    "type": "Import",
                    "statements": [
                        {"action": "Reject", "prefixSet": [{"cidr": "2001:db8:dead::/48"}]}
                    ],
                }
                r0, w0 = request_counts(plane)
                t0 = time.perf_counter()
                await admin.create(BGP_ROUTE_POLICIES, obj(BGP_ROUTE_POLICIES, name, policy))
                applied = await poll(lambda n=name, s=size: policy_applied(admin, n, s))
                await asyncio.sleep(max(0.0, 20 - (time.perf_counter() - t0)))
                r1, w1 = request_counts(plane)
                elapsed = time.perf_counter() - t0
                change_rps = (r1 - r0 + w1 - w0) / elapsed - base_rps - base_writes / 30
                rss = [rss_bytes(a.pid) / 2**20 for a in agents]
                row = {
                    "n": size,
                    "convergence": convergence,
                    "steady_rps": steady_rps,
                    "steady_writes_min": steady_writes * 2,
                    "change_applied": applied,
                    "change_rps": change_rps,
                    "change_writes": w1 - w0 - base_writes * elapsed / 30,
                    "rss_median": statistics.median(rss),
                    "rss_max": max(rss),
                }
                rows.append(row)
                print(
                    f"N={size:3d}: converged {convergence:5.1f} s | "
                    f"steady {steady_rps:5.2f} req/s, "
                    f"{steady_writes * 2:.0f} writes/min | policy change: on every node in "
                    f"{applied:4.1f} s, {change_rps:5.2f} req/s over {elapsed:.0f} s, "
                    f"{row['change_writes']:.0f} writes | "
                    f"agent RSS median {row['rss_median']:.0f} MB, "
                    f"max {row['rss_max']:.0f} MB",
                    flush=True,
                )
        if len(rows) >= 2:
            xs = [int(r["n"]) for r in rows]
            for key in ("steady_rps", "change_rps", "change_writes", "rss_median"):
                slope, intercept = fit(xs, [r[key] for r in rows])
                print(
                    f"fit {key}: {intercept:.2f} + {slope:.4f}·N -> "
                    f"N=1000: {intercept + slope * 1000:.1f}, "
                    f"N=5000: {intercept + slope * 5000:.1f}"
                )
    finally:
        for agent in agents:
            agent.terminate()
        for agent in agents:
            agent.wait(30)
        plane.stop()


if __name__ == "__main__":
    asyncio.run(main([int(a) for a in sys.argv[1:]] or [10, 25, 50]))
