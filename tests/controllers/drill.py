"""A two-node drill rig: a private control plane, two Debian gobgpd in namespaces joined by
a veth, and two real ``bgp run`` processes (FIB sync into their node's namespace) under
the controller's RBAC identity. A mesh BGPPeeringPolicy makes the elected agent create
the session; each gobgpd originates one IPv6 and one IPv4 prefix, so each node's kernel
holds the other's routes (protocol 196). Used by the hitless-restart drills.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bgpctl.controllers.peeringpolicy import LEASE_NAME
from bgpctl.controllers.resources import (
    BGP_CONFIGURATIONS,
    BGP_ENDPOINTS,
    BGP_PEERING_POLICIES,
    BGP_SESSIONS,
)
from bgpctl.envtest import ControlPlane
from bgpctl.gobgp.client import GoBGPClient
from bgpctl.gobgp.types import Path as BGPPath
from bgpctl.gobgp.types import PeerEvent, PeerEventType, SessionState
from bgpctl.runtime.client.errors import NotFound
from bgpctl.runtime.client.interfaces import LEASES
from bgpctl.runtime.client.kube import KubeClient
from bgpctl.testing.agent import AgentProcess, RouteMonitor
from bgpctl.testing.netns import GoBGPD, Lab, Netns
from tests.controllers.harness import eventually, gobgp_client, obj

ASN = 65000
PORT = 1790
LABEL = "bgp.miloapis.com/drill"
POLICY = "drill"
LEASE_NAMESPACE = "bgp-system"
FAST_LEASE = (
    "--leader-election-lease-duration=4",
    "--leader-election-renew-deadline=3",
    "--leader-election-retry-period=1",
)


@dataclass
class Node:
    """One node of the rig."""

    name: str
    ns: Netns
    gobgpd: GoBGPD
    agent: AgentProcess
    v6: str
    v4: str
    prefixes: tuple[str, ...]
    client: GoBGPClient | None = None
    monitor: RouteMonitor | None = None
    states: list[tuple[str, SessionState]] = field(default_factory=list)


def kernel_routes(node: Node) -> set[str]:
    """Destinations of protocol-196 routes in the node's namespace (IPv4 and IPv6)."""
    out: set[str] = set()
    for family in ("-4", "-6"):
        text = node.ns.ip(family, "route", "show", "proto", "196").stdout
        out |= {line.split()[0] for line in text.splitlines() if line.strip()}
    return out


@dataclass
class Rig:
    """The running rig; see the module docstring."""

    plane: ControlPlane
    admin: KubeClient
    a: Node
    b: Node

    @property
    def nodes(self) -> tuple[Node, Node]:
        return (self.a, self.b)

    def other(self, node: Node) -> Node:
        return self.b if node is self.a else self.a

    async def session_states(self) -> dict[str, str | None]:
        items = (await self.admin.list(BGP_SESSIONS)).items
        out: dict[str, str | None] = {}
        for raw in items:
            for e in (raw.get("status") or {}).get("endpoints") or []:
                out[e["endpoint"]] = e.get("state")
        return out

    async def established(self) -> bool:
        return await self.session_states() == {n.name: "Established" for n in self.nodes}

    async def routes_complete(self) -> bool:
        return all(set(self.other(n).prefixes) <= kernel_routes(n) for n in self.nodes)

    async def holder(self) -> str:
        """The Lease's holder identity (``<endpoint>_<uuid>``, new per process), or ""."""
        try:
            lease = await self.admin.get(LEASES, LEASE_NAME, namespace=LEASE_NAMESPACE)
        except NotFound:
            return ""
        return str((lease.get("spec") or {}).get("holderIdentity") or "")

    async def leader(self) -> Node | None:
        holder = await self.holder()
        return next((n for n in self.nodes if holder.startswith(f"{n.name}_")), None)

    async def agent_settled(self, node: Node) -> bool:
        """The agent's session and configuration controllers reconciled, FIB resynced."""
        if not node.agent.running:
            pytest.fail(f"agent {node.name} exited:\n{node.agent.current_log()[-3000:]}")
        metrics = node.agent.metrics()
        done = {
            c: sum(
                v
                for k, v in metrics.items()
                if k.startswith("controller_runtime_reconcile_total{")
                and f'controller="{c}"' in k
                and 'result="success"' in k
            )
            for c in ("bgpsession", "bgpconfiguration")
        }
        return (
            all(v >= 1 for v in done.values())
            and "full best-path table received" in node.agent.current_log()
        )

    def resets(self) -> list[tuple[str, str, SessionState]]:
        """Peer-state changes away from Established seen on any gobgpd."""
        return [
            (n.name, address, state)
            for n in self.nodes
            for address, state in n.states
            if state is not SessionState.ESTABLISHED
        ]

    def deletions(self) -> dict[str, list[str]]:
        return {n.name: n.monitor.deletions() for n in self.nodes if n.monitor is not None}


async def _record_states(node: Node) -> None:
    assert node.client is not None
    async with aclosing(node.client.watch_peers()) as stream:
        async for item in stream:
            if isinstance(item, PeerEvent) and item.peer and item.type is PeerEventType.STATE:
                node.states.append((str(item.peer.neighbor_address), item.peer.session_state))


@contextlib.asynccontextmanager
async def rig(
    plane: ControlPlane, workdir: Path, *, agent_args: tuple[str, ...] = FAST_LEASE
) -> AsyncIterator[Rig]:
    """Build the rig, converge it (Established, routes in both kernels), record from then on."""
    tasks: list[asyncio.Task[None]] = []
    with Lab() as lab:
        na, nb = lab.netns("dra"), lab.netns("drb")
        nodes = []
        for ns, letter, index in ((na, "a", 1), (nb, "b", 2)):
            daemon = lab.gobgpd(ns)
            name = f"node-{letter}"
            agent = AgentProcess(
                endpoint=name,
                gobgp_target=daemon.target,
                kubeconfig=plane.controller_kubeconfig,
                log_path=workdir / f"{name}-agent.log",
                fib_netns=ns.name,
                extra=agent_args,
            )
            nodes.append(
                Node(
                    name=name,
                    ns=ns,
                    gobgpd=daemon,
                    agent=agent,
                    v6=f"2001:db8:ab::{index}",
                    v4=f"198.51.100.{index}",
                    prefixes=(f"2001:db8:f{index}::/48", f"203.0.113.{index * 16}/28"),
                )
            )
        a, b = nodes
        lab.veth(na, nb, a_addrs=[f"{a.v6}/64", f"{a.v4}/24"], b_addrs=[f"{b.v6}/64", f"{b.v4}/24"])
        async with await KubeClient.from_kubeconfig(plane.admin_kubeconfig) as admin:
            the_rig = Rig(plane, admin, a, b)
            try:
                await admin.create(
                    BGP_CONFIGURATIONS,
                    obj(BGP_CONFIGURATIONS, "default", {"asNumber": ASN, "listenPort": PORT}),
                )
                for node in nodes:
                    spec = {"address": node.v6, "asNumber": ASN}
                    await admin.create(
                        BGP_ENDPOINTS, obj(BGP_ENDPOINTS, node.name, spec, {LABEL: "true"})
                    )
                policy = {
                    "mode": "mesh",
                    "selector": {"matchLabels": {LABEL: "true"}},
                    "sessionTemplate": {"holdTime": 9, "keepaliveTime": 3},
                }
                await admin.create(BGP_PEERING_POLICIES, obj(BGP_PEERING_POLICIES, POLICY, policy))
                for node in nodes:
                    node.agent.start()
                    node.client = gobgp_client(node.gobgpd.target)
                    await node.client.connect(connect_timeout=15)
                await eventually(the_rig.established, within=60, what="session Established")
                for node in nodes:
                    assert node.client is not None
                    for prefix in node.prefixes:
                        net = ipaddress.ip_network(prefix)
                        hop = node.v6 if net.version == 6 else node.v4
                        await node.client.add_path(
                            BGPPath(prefix=net, next_hops=(ipaddress.ip_address(hop),))
                        )
                await eventually(the_rig.routes_complete, within=30, what="routes in both kernels")
                for node in nodes:
                    await eventually(
                        lambda n=node: the_rig.agent_settled(n),  # type: ignore[misc]
                        within=30,
                        what=f"agent {node.name} settled",
                    )
                    node.monitor = RouteMonitor(node.ns.name, workdir / f"{node.name}-routes.log")
                    node.monitor.start()
                    tasks.append(asyncio.create_task(_record_states(node)))
                await asyncio.sleep(1.0)  # INIT replay of the peer streams
                for node in nodes:
                    node.states.clear()
                yield the_rig
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                for node in nodes:
                    node.agent.stop()
                    if node.monitor is not None:
                        node.monitor.stop()
                    if node.client is not None:
                        await node.client.close()
                for rt, name in (
                    (BGP_PEERING_POLICIES, POLICY),
                    (BGP_ENDPOINTS, "node-a"),
                    (BGP_ENDPOINTS, "node-b"),
                    (BGP_CONFIGURATIONS, "default"),
                ):
                    with contextlib.suppress(Exception):
                        await admin.delete(rt, name)
