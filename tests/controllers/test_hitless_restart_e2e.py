"""Restarting ``bgp run`` never drops a session or a route.

Real kube-apiserver, two Debian gobgpd, two real ``bgp run`` processes (see
``drill.py``). With ``ip monitor route`` running in both node namespaces and both
gobgpd's peer-state streams recorded, each drill is repeated 5 times: SIGTERM + restart
of an agent, kill -9 + restart of an agent, kill -9 + restart of the Lease holder. After
each restart the test waits until the new process has reconciled its sessions and its
configuration and resynchronised the FIB from GoBGP's full table. Expected disruption:
none — zero route deletions, zero session state changes.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bgpctl.controllers.resources import BGP_PEERING_POLICIES, BGP_SESSIONS
from bgpctl.envtest import ControlPlane
from bgpctl.gobgp.types import Path as BGPPath
from bgpctl.runtime.client.interfaces import PatchType
from bgpctl.testing.netns import remove_stale

from .drill import POLICY, Node, Rig, eventually, kernel_routes, rig

pytestmark = [pytest.mark.integration, pytest.mark.root]

RESTARTS = 5


@pytest.fixture(autouse=True)
def _root_and_gobgpd() -> None:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 for network namespaces")
    if not Path("/usr/bin/gobgpd").exists():
        pytest.skip("Debian gobgpd is not installed")
    remove_stale()


async def _restart(r: Rig, node: Node, how: str) -> None:
    if how == "sigterm":
        assert node.agent.terminate() == 0, node.agent.current_log()[-2000:]
    else:
        node.agent.kill()
    node.agent.start()
    await eventually(lambda: r.agent_settled(node), within=40, what=f"{node.name} settled")
    await asyncio.sleep(1.0)  # anything the new process does late would show now


async def _check_quiet(r: Rig, drill: str) -> None:
    assert r.resets() == [], f"{drill}: sessions changed state: {r.resets()}"
    assert r.deletions() == {"node-a": [], "node-b": []}, f"{drill}: routes deleted"
    assert await r.routes_complete()
    for node in r.nodes:
        assert set(r.other(node).prefixes) <= kernel_routes(node)
        assert node.client is not None
        peers = await node.client.list_peers()
        assert [p.state.flops for p in peers] == [0], f"{drill}: {node.name} flopped"


async def test_agent_restarts_are_hitless(
    control_plane_factory: Callable[..., ControlPlane], tmp_path: Path
) -> None:
    plane = control_plane_factory()
    async with rig(plane, tmp_path) as r:
        for i in range(RESTARTS):
            await _restart(r, r.nodes[i % 2], "sigterm")
        await _check_quiet(r, "SIGTERM restarts")
        for i in range(RESTARTS):
            await _restart(r, r.nodes[i % 2], "kill")
        await _check_quiet(r, "kill -9 restarts")

        # The leader: kill -9 whoever holds the Lease; a new process takes over (the other
        # agent, or the restarted one, whichever acquires the expired Lease first).
        for _ in range(RESTARTS):
            await eventually(lambda: _has_leader(r), within=20, what="a Lease holder")
            leader, identity = await r.leader(), await r.holder()
            assert leader is not None
            await _restart(r, leader, "kill")
            await eventually(
                lambda old=identity: _new_holder(r, old),  # type: ignore[misc]
                within=20,
                what="a new Lease holder",
            )
        await _check_quiet(r, "leader kill -9 restarts")

        # The restarts really reconciled: a hold time changed while node-a's agent is
        # down is applied by the restarted agent in place, without a reset.
        session = (await r.admin.list(BGP_SESSIONS)).items[0]
        name = session["metadata"]["name"]
        r.a.agent.kill()
        policy_owned = bool(session["metadata"].get("ownerReferences"))
        assert policy_owned
        # (The policy would revert a direct session edit; the template is the knob.)
        await r.admin.patch(
            BGP_PEERING_POLICIES,
            POLICY,
            {"spec": {"sessionTemplate": {"holdTime": 12, "keepaliveTime": 4}}},
            patch_type=PatchType.MERGE,
        )
        await eventually(
            lambda: _session_hold(r, name, 12), within=30, what="the leader updated the session"
        )
        r.a.agent.start()
        await eventually(lambda: _listed_hold(r.a, 12), within=40, what="node-a's hold time 12")
        await eventually(lambda: _listed_hold(r.b, 12), within=40, what="node-b's hold time 12")
        await asyncio.sleep(2.0)
        await _check_quiet(r, "timer change across a restart")


async def _has_leader(r: Rig) -> bool:
    return await r.leader() is not None


async def _new_holder(r: Rig, old: str) -> bool:
    holder = await r.holder()
    return bool(holder) and holder != old


async def _session_hold(r: Rig, name: str, hold: int) -> bool:
    raw = await r.admin.get(BGP_SESSIONS, name)
    return bool(raw["spec"].get("holdTime") == hold)


async def _listed_hold(node: Node, hold: int) -> bool:
    assert node.client is not None
    peers = await node.client.list_peers()
    return len(peers) == 1 and peers[0].spec.hold_time == hold


async def test_api_server_outage_under_the_leader(
    control_plane_factory: Callable[..., ControlPlane], tmp_path: Path
) -> None:
    """30 s without an API server (lease 4 s): agents keep running, FIB sync continues."""
    plane = control_plane_factory()
    async with rig(plane, tmp_path) as r:
        await eventually(lambda: _has_leader(r), within=20, what="a Lease holder")
        plane.stop_apiserver()
        try:
            await asyncio.sleep(5.0)  # past the renew deadline: the leader has stepped down
            # A new prefix on A during the outage reaches B's kernel: FIB sync runs on.
            assert r.a.client is not None
            net = ipaddress.ip_network("2001:db8:f9::/48")
            await r.a.client.add_path(
                BGPPath(prefix=net, next_hops=(ipaddress.ip_address(r.a.v6),))
            )
            await eventually(
                lambda: _in_kernel(r.b, str(net)), within=10, what="the new prefix in B's kernel"
            )
            await asyncio.sleep(25.0)
            for node in r.nodes:
                assert node.agent.running, node.agent.current_log()[-3000:]
                assert "leader election lost" in node.agent.current_log() or not _led(node)
        finally:
            plane.start_apiserver()
        # Someone leads again, and the peering-policy controller acts again: a policy
        # template change reaches the session.
        await eventually(lambda: _has_leader(r), within=30, what="a Lease holder again")
        await r.admin.patch(
            BGP_PEERING_POLICIES,
            POLICY,
            {"spec": {"sessionTemplate": {"holdTime": 15, "keepaliveTime": 5}}},
            patch_type=PatchType.MERGE,
        )
        session = (await r.admin.list(BGP_SESSIONS)).items[0]["metadata"]["name"]
        # Reflectors retry a refused watch with backoff up to 30 s (jitter: 60 s).
        await eventually(
            lambda: _session_hold(r, session, 15), within=90, what="the leader acting again"
        )
        for node in r.nodes:
            assert node.agent.running, node.agent.current_log()[-3000:]
        assert r.resets() == []
        assert r.deletions() == {"node-a": [], "node-b": []}


def _in_kernel(node: Node, prefix: str) -> Awaitable[bool]:
    async def check() -> bool:
        return prefix in kernel_routes(node)

    return check()


def _led(node: Node) -> bool:
    return "elected leader" in node.agent.log_text()
