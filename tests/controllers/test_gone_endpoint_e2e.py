"""A node that is gone for good never blocks a session's deletion.

Real kube-apiserver, two Debian gobgpd, two in-process agents under the controller's
RBAC identity (fixtures of ``test_node_agent_e2e``). Node B's agent stops for good and
its BGPEndpoint is deleted: the leader (A) removes B's finalizer and B's status entries
(session and configuration), and deleting the session then completes within 10 s.
"""

from __future__ import annotations

import contextlib
import functools
import uuid
from typing import Any

import pytest

from bgpctl.controllers.peeringpolicy import LEASE_NAME
from bgpctl.controllers.resources import BGP_CONFIGURATIONS, BGP_ENDPOINTS, BGP_SESSIONS
from bgpctl.controllers.sessionpeer import finalizer
from bgpctl.envtest import ControlPlane
from bgpctl.runtime.client.errors import NotFound
from bgpctl.runtime.client.interfaces import LEASES
from bgpctl.runtime.client.kube import KubeClient
from tests.controllers.harness import eventually, gobgp_client, in_process_agent, obj

from .test_node_agent_e2e import (  # noqa: F401 (fixtures)
    A6,
    ASN,
    B6,
    ESTABLISH_WITHIN,
    PORT,
    Nodes,
    _gone,
    _no_peers,
    _no_stale_namespaces,
    _states,
    nodes,
)

pytestmark = [pytest.mark.integration, pytest.mark.root]

WITHIN = 10.0


async def _leader_is(admin: KubeClient, endpoint: str) -> bool:
    try:
        lease = await admin.get(LEASES, LEASE_NAME, namespace="bgp-system")
    except NotFound:
        return False
    return str((lease.get("spec") or {}).get("holderIdentity") or "").startswith(f"{endpoint}_")


async def _leftovers(admin: KubeClient, session: str, endpoint: str) -> bool:
    raw = await admin.get(BGP_SESSIONS, session)
    entries = (raw.get("status") or {}).get("endpoints") or []
    return finalizer(endpoint) in (raw["metadata"].get("finalizers") or []) or any(
        e["endpoint"] == endpoint for e in entries
    )


async def _pruned(admin: KubeClient, session: str, endpoint: str) -> bool:
    return not await _leftovers(admin, session, endpoint)


async def _node_entries(admin: KubeClient) -> set[str]:
    raw: dict[str, Any] = await admin.get(BGP_CONFIGURATIONS, "default")
    return {n["node"] for n in (raw.get("status") or {}).get("nodes") or []}


async def _config_pruned(admin: KubeClient, endpoint: str) -> bool:
    return endpoint not in await _node_entries(admin)


async def test_deleting_a_gone_endpoints_session_never_hangs(
    control_plane: ControlPlane,
    nodes: Nodes,  # noqa: F811
) -> None:
    tag = uuid.uuid4().hex[:6]
    ep_a, ep_b, session = f"gone-a-{tag}", f"gone-b-{tag}", f"gone-{tag}"
    async with (
        await KubeClient.from_kubeconfig(control_plane.admin_kubeconfig) as admin,
        gobgp_client(nodes.a.target) as gobgp_a,
    ):
        with contextlib.suppress(NotFound):
            await admin.delete(BGP_CONFIGURATIONS, "default")
        await eventually(
            lambda: _gone(admin, BGP_CONFIGURATIONS, "default"), within=10, what="old config gone"
        )
        await admin.create(
            BGP_CONFIGURATIONS,
            obj(BGP_CONFIGURATIONS, "default", {"asNumber": ASN, "listenPort": PORT}),
        )
        for name, address in ((ep_a, A6), (ep_b, B6)):
            spec = {"address": address, "asNumber": ASN}
            await admin.create(BGP_ENDPOINTS, obj(BGP_ENDPOINTS, name, spec))
        try:
            async with in_process_agent(control_plane, ep_a, nodes.a.target, fib=False):
                async with in_process_agent(control_plane, ep_b, nodes.b.target, fib=False):
                    spec = {"localEndpoint": ep_a, "remoteEndpoint": ep_b, "holdTime": 9}
                    spec["keepaliveTime"] = 3
                    await admin.create(BGP_SESSIONS, obj(BGP_SESSIONS, session, spec))

                    async def established() -> bool:
                        states = await _states(admin, session)
                        return states == {ep_a: "Established", ep_b: "Established"}

                    await eventually(established, within=ESTABLISH_WITHIN, what="Established")
                    assert await _leftovers(admin, session, ep_b)
                    assert ep_b in await _node_entries(admin)
                # B's agent is gone for good; A leads (B released the Lease on its way out).
                await eventually(
                    lambda: _leader_is(admin, ep_a), within=20, what="A holding the Lease"
                )
                await admin.delete(BGP_ENDPOINTS, ep_b)
                await eventually(
                    functools.partial(_pruned, admin, session, ep_b),
                    within=WITHIN,
                    what="B's finalizer and status entry removed by the leader",
                )
                await eventually(
                    functools.partial(_config_pruned, admin, ep_b),
                    within=WITHIN,
                    what="B's configuration status entry removed",
                )
                await admin.delete(BGP_SESSIONS, session)
                await eventually(
                    lambda: _gone(admin, BGP_SESSIONS, session),
                    within=WITHIN,
                    what="the session deleted",
                )
                await eventually(
                    functools.partial(_no_peers, gobgp_a), within=WITHIN, what="A's neighbor gone"
                )
        finally:
            for rt, name in (
                (BGP_SESSIONS, session),
                (BGP_ENDPOINTS, ep_a),
                (BGP_ENDPOINTS, ep_b),
                (BGP_CONFIGURATIONS, "default"),
            ):
                with contextlib.suppress(NotFound):
                    await admin.delete(rt, name)
            for client in (gobgp_a,):
                with contextlib.suppress(Exception):
                    for peer in await client.list_peers():
                        await client.delete_peer(peer.spec.neighbor_address)
