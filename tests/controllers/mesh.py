"""A 3-node mesh for end-to-end tests: real kube-apiserver, gobgpd per node, in-process agents.

Nodes sit on one bridge (namespace ``hub``) with IPv6-only endpoint addresses
2001:db8:ad::<i>, one AS (iBGP), three BGPSessions (a full mesh), and an agent per node
running as the controller's RBAC identity with its FIB sync programming the node's own
namespace. ``Mesh`` gives each node's GoBGP client, its kernel routes and the admin client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any

from bgpctl.controllers.resources import (
    BGP_ADVERTISEMENTS,
    BGP_CONFIGURATIONS,
    BGP_ENDPOINTS,
    BGP_ROUTE_POLICIES,
    BGP_SESSIONS,
)
from bgpctl.envtest import ControlPlane
from bgpctl.gobgp.client import GoBGPClient
from bgpctl.gobgp.types import IPV4_UNICAST, IPV6_UNICAST, Path
from bgpctl.runtime.client.errors import NotFound
from bgpctl.runtime.client.interfaces import ResourceType
from bgpctl.runtime.client.kube import KubeClient
from bgpctl.testing.netns import GoBGPD, Lab, Netns
from tests.controllers.harness import gobgp_client, in_process_agent, in_process_operator, obj

ASN = 65000
PROTOCOL = 196


@dataclass
class Node:
    name: str
    address: str
    ns: Netns
    daemon: GoBGPD
    gobgp: GoBGPClient

    def routes(self) -> dict[str, str]:
        """Kernel routes of protocol 196 in the node's namespace: destination -> 'via' text."""
        found: dict[str, str] = {}
        for family in ("-4", "-6"):
            out = self.ns.ip("-j", family, "route", "show", "proto", str(PROTOCOL)).stdout
            for entry in json.loads(out or "[]"):
                via = entry.get("gateway") or (entry.get("via") or {}).get("host", "")
                found[entry["dst"]] = via
        return found

    async def rib(self) -> dict[str, Path]:
        """Best paths of both families, by prefix text."""
        out: dict[str, Path] = {}
        for family in (IPV4_UNICAST, IPV6_UNICAST):
            for path in await self.gobgp.list_paths(family, best_only=True):
                out[str(path.prefix)] = path
        return out


@dataclass
class Mesh:
    admin: KubeClient
    nodes: dict[str, Node]
    tag: str
    lab: Lab
    hub: Netns

    def attach(self, name: str, address: str) -> Netns:
        """A new namespace on the mesh's bridge with ``address``/64 (an external router)."""
        ns = self.lab.netns(name)
        link = self.lab.veth(self.hub, ns, b_addrs=[f"{address}/64"])
        self.hub.ip("link", "set", link.a_ifname, "master", "br0")
        return ns

    def name(self, base: str) -> str:
        return f"{base}-{self.tag}"

    async def wait(self, what: str, check: Callable[[], Any], *, within: float = 30.0) -> Any:
        """Poll ``check`` (sync or async) until it returns a truthy value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        last: Any = None
        while loop.time() < deadline:
            try:
                last = check()
                if asyncio.iscoroutine(last):
                    last = await last
            except Exception as err:  # noqa: BLE001 - external state: retry until the deadline
                last = err
            if last:
                return last
            await asyncio.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; last: {last!r}")

    async def status(self, rt: ResourceType, name: str) -> dict[str, Any]:
        return (await self.admin.get(rt, name)).get("status") or {}

    async def node_entry(self, rt: ResourceType, name: str, node: str) -> dict[str, Any] | None:
        entries = (await self.status(rt, name)).get("nodes") or []
        return next((e for e in entries if e["node"] == node), None)


async def _delete_all(admin: KubeClient, rt: ResourceType, tag: str) -> None:
    for item in (await admin.list(rt)).items:
        name = item["metadata"]["name"]
        if name.endswith(tag) or rt == BGP_CONFIGURATIONS:
            with contextlib.suppress(NotFound):
                await admin.delete(rt, name)


@contextlib.asynccontextmanager
async def mesh(plane: ControlPlane, labels: dict[str, dict[str, str]]) -> AsyncIterator[Mesh]:
    """Nodes named by ``labels``' keys (at most 9), each endpoint with those labels."""
    tag = uuid.uuid4().hex[:6]
    with Lab() as lab:
        hub = lab.netns("hub")
        hub.ip("link", "add", "br0", "type", "bridge")
        hub.ip("link", "set", "br0", "up")
        specs = []
        for i, base in enumerate(labels, start=1):
            ns = lab.netns(base)
            address = f"2001:db8:ad::{i}"
            link = lab.veth(hub, ns, b_addrs=[f"{address}/64"])
            hub.ip("link", "set", link.a_ifname, "master", "br0")
            specs.append((base, address, ns))
        daemons = await asyncio.gather(*(asyncio.to_thread(lab.gobgpd, ns) for _, _, ns in specs))
        async with contextlib.AsyncExitStack() as stack:
            admin = await stack.enter_async_context(
                await KubeClient.from_kubeconfig(plane.admin_kubeconfig)
            )
            nodes: dict[str, Node] = {}
            for (base, address, ns), daemon in zip(specs, daemons, strict=True):
                client = await stack.enter_async_context(gobgp_client(daemon.target))
                nodes[base] = Node(f"{base}-{tag}", address, ns, daemon, client)
            m = Mesh(admin, nodes, tag, lab, hub)
            with contextlib.suppress(NotFound):
                await admin.delete(BGP_CONFIGURATIONS, "default")
            await m.wait(
                "old configuration gone", lambda: _gone(admin, BGP_CONFIGURATIONS, "default")
            )
            await admin.create(
                BGP_CONFIGURATIONS,
                obj(BGP_CONFIGURATIONS, "default", {"asNumber": ASN, "listenPort": 1790}),
            )
            try:
                for base, node in nodes.items():
                    spec = {"address": node.address, "asNumber": ASN}
                    await admin.create(
                        BGP_ENDPOINTS, obj(BGP_ENDPOINTS, node.name, spec, labels[base])
                    )
                names = list(nodes)
                for i, x in enumerate(names):
                    for y in names[i + 1 :]:
                        spec = {
                            "localEndpoint": nodes[x].name,
                            "remoteEndpoint": nodes[y].name,
                            "holdTime": 9,
                            "keepaliveTime": 3,
                        }
                        await admin.create(BGP_SESSIONS, obj(BGP_SESSIONS, f"{x}-{y}-{tag}", spec))
                # The operator layout: the operator runs the cluster-wide controllers, the
                # agents cache only what concerns their node (tests/controllers/drill.py
                # runs the all-in-one layout).
                await stack.enter_async_context(in_process_operator(plane, f"operator-{tag}"))
                for node in nodes.values():
                    task = await stack.enter_async_context(
                        in_process_agent(
                            plane,
                            node.name,
                            node.daemon.target,
                            cluster_controllers=False,
                            fib_netns=node.ns.name,
                        )
                    )
                    del task
                for node in nodes.values():
                    others = [o for o in nodes.values() if o is not node]
                    for other in others:
                        await m.wait(
                            f"{node.name} -> {other.name} Established",
                            lambda n=node, o=other: _established(n, o),
                            within=60,
                        )
                yield m
            finally:
                for rt in (BGP_ADVERTISEMENTS, BGP_ROUTE_POLICIES, BGP_SESSIONS):
                    await _delete_all(admin, rt, tag)
                # Let the agents release their session finalizers before they stop.
                await m.wait(
                    "sessions deleted", lambda: _none_left(admin, BGP_SESSIONS, tag), within=30
                )
                await _delete_all(admin, BGP_ENDPOINTS, tag)
                await _delete_all(admin, BGP_CONFIGURATIONS, tag)


async def _gone(admin: KubeClient, rt: ResourceType, name: str) -> bool:
    try:
        await admin.get(rt, name)
    except NotFound:
        return True
    return False


async def _none_left(admin: KubeClient, rt: ResourceType, tag: str) -> bool:
    return not [i for i in (await admin.list(rt)).items if i["metadata"]["name"].endswith(tag)]


async def _established(node: Node, other: Node) -> bool:
    peer = await node.gobgp.get_peer(ip_address(other.address))
    return peer is not None and peer.state.established
