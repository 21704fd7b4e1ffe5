"""Advertisement and route-policy benchmarks on a real 3-node mesh (issue targets in brackets).

Run as root from the repository root: ``.venv/bin/python benchmarks/bench_advertisement.py``
(about 2-3 minutes). Real kube-apiserver, gobgpd per node in namespaces, in-process agents.

1. Latency: an advertisement created (API call returned) -> its prefix in a remote
   node's kernel (seen by ``ip monitor route`` in that namespace); 50 trials, one prefix
   each, then the delete -> route gone. [p50 < 200 ms, p95 < 500 ms]
2. Bulk: 500 advertisements x 10 prefixes created at once -> all 5,000 in a remote node's
   RIB; API writes made by the agents per advertisement (kube-apiserver's own
   apiserver_request_total, before/after). [writes per object <= 2]
3. Restore: node a with 100 sessions, 100 advertisements and 20 route policies; gobgpd
   killed (-9) and restarted -> GoBGP's state equals the declared one (neighbors,
   tagged paths, assigned policies). [< 2 s]
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for tests.controllers.mesh

from bgpctl.controllers.advertplan import PATH_TAG  # noqa: E402
from bgpctl.controllers.resources import (  # noqa: E402
    BGP_ADVERTISEMENTS,
    BGP_ENDPOINTS,
    BGP_ROUTE_POLICIES,
    BGP_SESSIONS,
)
from bgpctl.envtest import ControlPlane  # noqa: E402
from bgpctl.gobgp.policy import PolicyDirection  # noqa: E402
from bgpctl.gobgp.types import IPV6_UNICAST  # noqa: E402
from tests.controllers.mesh import Mesh, Node, gobgp_client, mesh, obj  # noqa: E402

ORIGIN = {"nodeSelector": {"matchLabels": {"role": "origin"}}}


class RouteMonitor:
    """``ip monitor route`` in a namespace; records when each destination appeared/vanished."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.events: dict[tuple[str, bool], float] = {}
        self.changed = asyncio.Event()

    async def run(self) -> None:
        proc = await asyncio.create_subprocess_exec(
            "ip", "-n", self.node.ns.name, "monitor", "route", stdout=asyncio.subprocess.PIPE
        )
        assert proc.stdout is not None
        try:
            while line := await proc.stdout.readline():
                text = line.decode()
                deleted = text.startswith("Deleted ")
                dst = text.removeprefix("Deleted ").split()[0]
                self.events[(dst, not deleted)] = time.perf_counter()
                self.changed.set()
        finally:
            proc.kill()
            await proc.wait()

    async def wait(self, dst: str, present: bool) -> float:
        async with asyncio.timeout(10):
            while (dst, present) not in self.events:
                self.changed.clear()
                await self.changed.wait()
        return self.events[(dst, present)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def latency(m: Mesh) -> None:
    monitor = RouteMonitor(m.nodes["b"])
    task = asyncio.create_task(monitor.run())
    await asyncio.sleep(0.5)
    add, remove = [], []
    for i in range(50):
        prefix = str(ipaddress.ip_network(f"2001:db8:c{i // 256:x}:{i % 256:x}00::/56"))
        name = m.name(f"lat-{i}")
        start = time.perf_counter()
        await m.admin.create(
            BGP_ADVERTISEMENTS, obj(BGP_ADVERTISEMENTS, name, {"prefixes": [prefix], **ORIGIN})
        )
        add.append(await monitor.wait(prefix, True) - start)
        start = time.perf_counter()
        await m.admin.delete(BGP_ADVERTISEMENTS, name)
        remove.append(await monitor.wait(prefix, False) - start)
    task.cancel()
    for label, values in (
        ("created -> remote kernel", add),
        ("deleted -> gone from remote kernel", remove),
    ):
        print(
            f"{label:40s} p50 {statistics.median(values) * 1000:6.1f} ms   "
            f"p95 {percentile(values, 0.95) * 1000:6.1f} ms   "
            f"max {max(values) * 1000:6.1f} ms  (50 trials)"
        )


def write_counts(plane: ControlPlane) -> dict[str, float]:
    """Mutating requests on advertisements (and their status) so far, by verb."""
    text = plane.kubectl("get", "--raw", "/metrics").stdout
    out: dict[str, float] = {}
    for line in text.splitlines():
        if (
            not line.startswith("apiserver_request_total{")
            or 'resource="bgpadvertisements"' not in line
        ):
            continue
        verb = re.search(r'verb="([A-Z]+)"', line)
        sub = re.search(r'subresource="([a-z]*)"', line)
        if verb and verb.group(1) in {"POST", "PUT", "PATCH", "DELETE", "APPLY"}:
            key = f"{verb.group(1)}{'/' + sub.group(1) if sub and sub.group(1) else ''}"
            out[key] = out.get(key, 0.0) + float(line.rsplit(" ", 1)[1])
    return out


async def bulk(m: Mesh, plane: ControlPlane) -> None:
    b = m.nodes["b"]
    before = write_counts(plane)
    limit = asyncio.Semaphore(32)

    async def create(i: int) -> None:
        prefixes = [f"2001:db8:{0xD000 + i:x}:{j:x}::/64" for j in range(10)]
        async with limit:
            await m.admin.create(
                BGP_ADVERTISEMENTS,
                obj(BGP_ADVERTISEMENTS, m.name(f"bulk-{i}"), {"prefixes": prefixes, **ORIGIN}),
            )

    start = time.perf_counter()
    await asyncio.gather(*(create(i) for i in range(500)))
    created = time.perf_counter() - start

    async def count() -> bool:
        return (await b.gobgp.get_table(IPV6_UNICAST)).destinations >= 5000

    await m.wait("5000 prefixes on b", count, within=300)
    total = time.perf_counter() - start
    # Let the status writes finish, then count them.
    await m.wait("500 status entries", lambda: _entries(m, 500), within=120)
    await asyncio.sleep(2)
    after = write_counts(plane)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    agent_writes = sum(v for k, v in delta.items() if k != "POST")
    print(
        f"500 advertisements x 10 prefixes: created in {created:.1f} s, "
        f"all 5000 in b's RIB after {total:.1f} s"
    )
    print(f"  API writes on advertisements: {dict(sorted(delta.items()))}")
    print(f"  writes by the agents per advertisement: {agent_writes / 500:.2f}")
    for i in range(500):
        await m.admin.delete(BGP_ADVERTISEMENTS, m.name(f"bulk-{i}"))
    await m.wait("b empty again", lambda: _table_below(b, 100), within=300)


async def _entries(m: Mesh, n: int) -> bool:
    items = (await m.admin.list(BGP_ADVERTISEMENTS)).items
    done = [i for i in items if (i.get("status") or {}).get("nodes")]
    return len(done) >= n


async def _table_below(node: Node, n: int) -> bool:
    return (await node.gobgp.get_table(IPV6_UNICAST)).destinations < n


async def restore(m: Mesh) -> None:
    a = m.nodes["a"]
    for i in range(1, 99):  # 98 silent peers + b and c = 100 sessions on a
        ep = m.name(f"peer-{i}")
        spec = {"address": f"2001:db8:ae::{i:x}", "asNumber": 65000}
        await m.admin.create(BGP_ENDPOINTS, obj(BGP_ENDPOINTS, ep, spec, {"group": f"g{i % 20}"}))
        session = {"localEndpoint": a.name, "remoteEndpoint": ep}
        await m.admin.create(BGP_SESSIONS, obj(BGP_SESSIONS, m.name(f"a-peer-{i}"), session))
    for i in range(100):
        spec = {"prefixes": [str(ipaddress.ip_network(f"2001:db8:e0:{i:x}00::/56"))], **ORIGIN}
        await m.admin.create(BGP_ADVERTISEMENTS, obj(BGP_ADVERTISEMENTS, m.name(f"r-{i}"), spec))
    for i in range(20):
        spec = {
            "type": "Import",
            "peerSelector": {"matchLabels": {"group": f"g{i}"}},
            "statements": [{"action": "Reject", "prefixSet": [{"cidr": f"2001:db8:f{i:x}::/48"}]}],
        }
        await m.admin.create(BGP_ROUTE_POLICIES, obj(BGP_ROUTE_POLICIES, m.name(f"rp-{i}"), spec))

    async def declared() -> bool:
        peers = await a.gobgp.list_peers()
        paths = [
            p
            for p in await a.gobgp.list_paths(IPV6_UNICAST)
            if p.is_local and p.identifier == PATH_TAG
        ]
        assigned = await a.gobgp.list_policy_assignments(PolicyDirection.IMPORT)
        policies = [p for x in assigned for p in x.policies if p.startswith("bgpctl-rp-")]
        return len(peers) >= 100 and len(paths) >= 100 and len(policies) >= 20

    await m.wait("declared state on a", declared, within=120)
    await asyncio.to_thread(a.daemon.kill)
    await asyncio.to_thread(a.daemon.start)
    start = time.perf_counter()
    async with gobgp_client(a.daemon.target) as fresh:
        a_probe = Node(a.name, a.address, a.ns, a.daemon, fresh)
        m.nodes["probe"] = a_probe
        try:

            async def restored() -> bool:
                peers = await fresh.list_peers()
                paths = [
                    p
                    for p in await fresh.list_paths(IPV6_UNICAST)
                    if p.is_local and p.identifier == PATH_TAG
                ]
                assigned = await fresh.list_policy_assignments(PolicyDirection.IMPORT)
                policies = [p for x in assigned for p in x.policies if p.startswith("bgpctl-rp-")]
                return len(peers) >= 100 and len(paths) >= 100 and len(policies) >= 20

            await m.wait("state restored", restored, within=120)
        finally:
            del m.nodes["probe"]
    print(
        f"gobgpd kill -9 + restart -> 100 sessions, 100 advertisements, 20 route policies restored "
        f"{time.perf_counter() - start:.2f} s after gobgpd accepted connections"
    )


async def main() -> None:
    plane = ControlPlane()
    plane.start()
    try:
        plane.install_crds(REPO / "manifests" / "crds")
        plane.apply(REPO / "manifests" / "rbac")
        labels = {"a": {"role": "origin"}, "b": {}, "c": {}}
        async with mesh(plane, labels) as m:
            await latency(m)
            await bulk(m, plane)
            await restore(m)
    finally:
        plane.stop()


if __name__ == "__main__":
    asyncio.run(main())
