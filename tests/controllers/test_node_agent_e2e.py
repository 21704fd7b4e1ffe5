"""Two node agents, two real gobgpd, one real kube-apiserver: a session end to end.

Each agent runs in-process (``run_node_agent``) under the RBAC-restricted controller
identity, so a missing permission fails the test. The gobgpd run in two network
namespaces joined by a veth (documentation addresses, listen port 1790); the agents
reach them through their unix API sockets.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any

import pytest

from bgpctl.controllers.configuration import derive_router_id
from bgpctl.controllers.resources import BGP_CONFIGURATIONS, BGP_ENDPOINTS, BGP_SESSIONS
from bgpctl.controllers.sessionpeer import finalizer
from bgpctl.envtest import ControlPlane
from bgpctl.gobgp.client import GoBGPClient
from bgpctl.runtime.client.errors import NotFound
from bgpctl.runtime.client.kube import KubeClient
from bgpctl.testing.netns import GoBGPD, Lab, remove_stale
from tests.controllers.harness import eventually, gobgp_client, in_process_agent, obj

pytestmark = [pytest.mark.integration, pytest.mark.root]

A6, B6 = "2001:db8:ab::1", "2001:db8:ab::2"
A4, B4 = "198.51.100.1", "198.51.100.2"
ASN = 65000
PORT = 1790
ESTABLISH_WITHIN = 40.0


@dataclass
class Nodes:
    a: GoBGPD
    b: GoBGPD


@pytest.fixture(scope="module")
def nodes() -> Iterator[Nodes]:
    """Two Debian gobgpd in namespaces joined by a veth."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 for network namespaces")
    with Lab() as lab:
        na, nb = lab.netns("agent-a"), lab.netns("agent-b")
        a, b = lab.gobgpd(na), lab.gobgpd(nb)
        if not a.binary.exists():
            pytest.skip("Debian gobgpd is not installed")
        lab.veth(na, nb, a_addrs=[f"{A6}/64", f"{A4}/24"], b_addrs=[f"{B6}/64", f"{B4}/24"])
        try:
            yield Nodes(a, b)
        except BaseException:
            print("gobgpd a:\n" + a.log_tail(40) + "\ngobgpd b:\n" + b.log_tail(40))
            raise


@pytest.fixture(scope="module", autouse=True)
def _no_stale_namespaces() -> None:
    if os.geteuid() == 0 and shutil.which("ip") is not None:
        remove_stale()


async def test_session_between_two_node_agents(control_plane: ControlPlane, nodes: Nodes) -> None:
    tag = uuid.uuid4().hex[:6]
    ep_a, ep_b, session = f"node-a-{tag}", f"node-b-{tag}", f"a-b-{tag}"
    async with (
        await KubeClient.from_kubeconfig(control_plane.admin_kubeconfig) as admin,
        gobgp_client(nodes.a.target) as gobgp_a,
        gobgp_client(nodes.b.target) as gobgp_b,
    ):
        with contextlib.suppress(NotFound):
            await admin.delete(BGP_CONFIGURATIONS, "default")
        await eventually(
            lambda: _gone(admin, BGP_CONFIGURATIONS, "default"), within=10, what="old config gone"
        )
        await admin.create(
            BGP_CONFIGURATIONS, obj(BGP_CONFIGURATIONS, "default", {"asNumber": ASN})
        )
        for name, address in ((ep_a, A6), (ep_b, B6)):
            spec = {"address": address, "asNumber": ASN}
            await admin.create(BGP_ENDPOINTS, obj(BGP_ENDPOINTS, name, spec))
        try:
            async with (
                in_process_agent(control_plane, ep_a, nodes.a.target, fib=False) as task_a,
                in_process_agent(control_plane, ep_b, nodes.b.target, fib=False) as task_b,
            ):
                # Both speakers started with their derived router IDs (hash of the IPv6).
                for client, address in ((gobgp_a, A6), (gobgp_b, B6)):
                    await eventually(
                        functools.partial(_running, client, derive_router_id(address)),
                        within=15,
                        what=f"GoBGP started with the router ID of {address}",
                    )
                spec = {
                    "localEndpoint": ep_a,
                    "remoteEndpoint": ep_b,
                    "holdTime": 9,
                    "keepaliveTime": 3,
                }
                await admin.create(BGP_SESSIONS, obj(BGP_SESSIONS, session, spec))

                async def established() -> bool:
                    assert not task_a.done() and not task_b.done(), "an agent exited"
                    states = await _states(admin, session)
                    return states == {ep_a: "Established", ep_b: "Established"}

                await eventually(established, within=ESTABLISH_WITHIN, what="both ends Established")

                raw = await admin.get(BGP_SESSIONS, session)
                assert set(raw["metadata"]["finalizers"]) == {finalizer(ep_a), finalizer(ep_b)}
                owners = _status_entry_owners(raw)
                assert owners == {ep_a: {f"bgpctl/{ep_a}"}, ep_b: {f"bgpctl/{ep_b}"}}
                for entry in raw["status"]["endpoints"]:
                    assert entry["configured"] is True
                    assert entry["lastTransitionTime"]
                # The aggregate conditions: tests/controllers/test_status_e2e.py.
                peer_a = await gobgp_a.get_peer(ip_address(B6))
                assert peer_a is not None and peer_a.spec.remote_port == PORT
                config = await admin.get(BGP_CONFIGURATIONS, "default")
                by_node = {n["node"]: n for n in config["status"]["nodes"]}
                assert by_node[ep_a]["ready"] and by_node[ep_b]["ready"]
                assert by_node[ep_b]["routerID"] == derive_router_id(B6)

                # gobgpd on B crashes and comes back empty: B's agent restores it.
                generation = gobgp_b.generation
                nodes.b.restart()
                await eventually(
                    lambda: _generation_after(gobgp_b, generation), within=10, what="reconnect"
                )
                await eventually(
                    lambda: _running(gobgp_b, derive_router_id(B6)), within=15, what="StartBgp"
                )
                await eventually(
                    lambda: _peer_established(gobgp_b, A6),
                    within=ESTABLISH_WITHIN,
                    what="peer back",
                )
                await eventually(established, within=15, what="status Established again")

                # Delete: both agents remove their neighbor and their finalizer.
                await admin.delete(BGP_SESSIONS, session)
                for client, address in ((gobgp_a, B6), (gobgp_b, A6)):
                    await eventually(
                        functools.partial(_no_peers, client),
                        within=15,
                        what=f"neighbor {address} removed",
                    )
                await eventually(
                    lambda: _gone(admin, BGP_SESSIONS, session), within=15, what="session gone"
                )
                assert not task_a.done() and not task_b.done()
        finally:
            with contextlib.suppress(NotFound):
                await admin.delete(BGP_SESSIONS, session)
            for name in (ep_a, ep_b):
                with contextlib.suppress(NotFound):
                    await admin.delete(BGP_ENDPOINTS, name)
            with contextlib.suppress(NotFound):
                await admin.delete(BGP_CONFIGURATIONS, "default")
            for client in (gobgp_a, gobgp_b):
                with contextlib.suppress(Exception):
                    for peer in await client.list_peers():
                        await client.delete_peer(peer.spec.neighbor_address)


async def _gone(admin: KubeClient, rt: Any, name: str) -> bool:
    try:
        await admin.get(rt, name)
    except NotFound:
        return True
    return False


async def _running(client: GoBGPClient, router_id: str) -> bool:
    try:
        current = await client.get_bgp()
    except Exception:
        return False
    return current.asn == ASN and current.router_id == router_id and current.listen_port == PORT


async def _generation_after(client: GoBGPClient, generation: int) -> bool:
    return client.connected and client.generation > generation


async def _peer_established(client: GoBGPClient, address: str) -> bool:
    try:
        peer = await client.get_peer(ip_address(address))
    except Exception:
        return False
    return peer is not None and peer.state.established


async def _no_peers(client: GoBGPClient) -> bool:
    return await client.list_peers() == []


async def _states(admin: KubeClient, session: str) -> dict[str, str | None]:
    raw = await admin.get(BGP_SESSIONS, session)
    entries = (raw.get("status") or {}).get("endpoints") or []
    return {e["endpoint"]: e.get("state") for e in entries}


def _status_entry_owners(raw: dict[str, Any]) -> dict[str, set[str]]:
    """Which field managers own each ``status.endpoints[]`` entry (by its map key)."""
    owners: dict[str, set[str]] = {}
    for mf in raw["metadata"].get("managedFields") or []:
        endpoints = (mf.get("fieldsV1") or {}).get("f:status", {}).get("f:endpoints", {})
        for key in endpoints:
            if key.startswith("k:"):
                name = json.loads(key[2:])["endpoint"]
                owners.setdefault(name, set()).add(mf["manager"])
                assert mf.get("subresource") == "status", mf
    return owners
