"""One neighbor, one owner; orphaned neighbors are swept.

Real kube-apiserver, two Debian gobgpd joined by a veth, two in-process agents under the
controller's RBAC identity (fixtures of ``test_node_agent_e2e``). A second endpoint
duplicating node B's address and a session to it would map to the neighbor node A
already has for the first session: the first keeps it, untouched (no state change,
no flop) before, during and after the conflicting session's life.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import uuid
from contextlib import aclosing
from typing import Any

import pytest

from bgpctl.controllers.resources import BGP_CONFIGURATIONS, BGP_ENDPOINTS, BGP_SESSIONS
from bgpctl.envtest import ControlPlane
from bgpctl.gobgp.client import GoBGPClient
from bgpctl.gobgp.types import PeerEvent, PeerEventType, PeerSpec, SessionState
from bgpctl.runtime.client.errors import NotFound
from bgpctl.runtime.client.interfaces import EVENTS, PatchType
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
    _no_stale_namespaces,
    _states,
    nodes,
)

pytestmark = [pytest.mark.integration, pytest.mark.root]


async def _record(client: GoBGPClient, into: list[SessionState]) -> None:
    """State changes of A's neighbor B6 (the first session's)."""
    b6 = ipaddress.ip_address(B6)
    async with aclosing(client.watch_peers()) as stream:
        async for item in stream:
            if not isinstance(item, PeerEvent) or item.type is not PeerEventType.STATE:
                continue
            if item.peer is not None and item.peer.neighbor_address == b6:
                into.append(item.peer.session_state)


async def _entry(admin: KubeClient, session: str, endpoint: str) -> dict[str, Any] | None:
    raw = await admin.get(BGP_SESSIONS, session)
    entries = (raw.get("status") or {}).get("endpoints") or []
    return next((e for e in entries if e["endpoint"] == endpoint), None)


async def _conflict_reported(admin: KubeClient, session: str, endpoint: str, owner: str) -> bool:
    entry = await _entry(admin, session, endpoint)
    return (
        entry is not None
        and entry["configured"] is False
        and entry["message"].startswith("Conflict:")
        and repr(owner) in entry["message"]
    )


async def _warning_events(admin: KubeClient, session: str) -> list[dict[str, Any]]:
    events = await admin.list(
        EVENTS, namespace="default", field_selector=f"involvedObject.name={session}"
    )
    return [e for e in events.items if e.get("type") == "Warning" and e["reason"] == "Conflict"]


async def _owner(client: GoBGPClient, address: str) -> str | None:
    peer = await client.get_peer(ipaddress.ip_address(address))
    return peer.spec.description if peer else None


async def _absent(client: GoBGPClient, address: str) -> bool:
    return await client.get_peer(ipaddress.ip_address(address)) is None


async def test_first_session_keeps_its_neighbor(
    control_plane: ControlPlane,
    nodes: Nodes,  # noqa: F811
) -> None:
    tag = uuid.uuid4().hex[:6]
    ep_a, ep_b, ep_dup = f"cf-a-{tag}", f"cf-b-{tag}", f"cf-dup-{tag}"
    ep_man, third = f"cf-man-{tag}", f"cf-third-{tag}"
    first, second = f"cf-first-{tag}", f"cf-second-{tag}"
    seen: list[SessionState] = []
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
        recorder: asyncio.Task[None] | None = None
        try:
            async with in_process_agent(control_plane, ep_b, nodes.b.target, fib=False):
                async with in_process_agent(
                    control_plane, ep_a, nodes.a.target, fib=False
                ) as task_a:
                    spec = {"localEndpoint": ep_a, "remoteEndpoint": ep_b, "holdTime": 9}
                    spec["keepaliveTime"] = 3
                    await admin.create(BGP_SESSIONS, obj(BGP_SESSIONS, first, spec))

                    async def established() -> bool:
                        assert not task_a.done(), "agent A exited"
                        return await _states(admin, first) == {
                            ep_a: "Established",
                            ep_b: "Established",
                        }

                    await eventually(established, within=ESTABLISH_WITHIN, what="first Established")
                    recorder = asyncio.create_task(_record(gobgp_a, seen))
                    await asyncio.sleep(1.0)  # INIT replay
                    seen.clear()

                    # An endpoint duplicating B's address, and a session from A to it.
                    dup = {"address": B6, "asNumber": ASN}
                    await admin.create(BGP_ENDPOINTS, obj(BGP_ENDPOINTS, ep_dup, dup))
                    spec2 = {"localEndpoint": ep_a, "remoteEndpoint": ep_dup}
                    await admin.create(BGP_SESSIONS, obj(BGP_SESSIONS, second, spec2))
                    await eventually(
                        functools.partial(_conflict_reported, admin, second, ep_a, first),
                        within=15,
                        what="the second session reporting Conflict",
                    )
                    await eventually(
                        lambda: _has_warning(admin, second), within=10, what="Warning Event"
                    )
                    assert await _owner(gobgp_a, B6) == f"bgpsession/{first}"
                    first_entry = await _entry(admin, first, ep_a)
                    assert first_entry is not None and first_entry["configured"] is True

                    # A spec change of the loser re-checks, and it still loses.
                    await admin.patch(
                        BGP_SESSIONS,
                        second,
                        {"spec": {"holdTime": 30, "keepaliveTime": 10}},
                        patch_type=PatchType.MERGE,
                    )
                    await asyncio.sleep(2.0)
                    assert await _conflict_reported(admin, second, ep_a, first)
                    assert await _owner(gobgp_a, B6) == f"bgpsession/{first}"

                    # Deleting the loser never touches the winner's neighbor.
                    await admin.delete(BGP_SESSIONS, second)
                    await eventually(
                        lambda: _gone(admin, BGP_SESSIONS, second), within=15, what="second gone"
                    )
                    await asyncio.sleep(2.0)
                    assert await _owner(gobgp_a, B6) == f"bgpsession/{first}"
                    peer = await gobgp_a.get_peer(ipaddress.ip_address(B6))
                    assert peer is not None and peer.state.established and peer.state.flops == 0
                    assert seen == [], f"the first session changed state: {seen}"

                    # Orphans: a neighbor tagged with a session that does not exist goes at the
                    # next full resync (here: agent A's restart); an untagged one stays.
                    ghost, foreign = "2001:db8:ab::99", "2001:db8:ab::98"
                    for address, desc in ((ghost, "bgpsession/ghost-x"), (foreign, "manual")):
                        await gobgp_a.add_peer(
                            PeerSpec(ipaddress.ip_address(address), peer_asn=ASN, description=desc)
                        )
                async with in_process_agent(control_plane, ep_a, nodes.a.target, fib=False):
                    await eventually(
                        lambda: _absent(gobgp_a, ghost), within=20, what="orphan swept"
                    )
                    assert await _owner(gobgp_a, foreign) == "manual"
                    assert await _owner(gobgp_a, B6) == f"bgpsession/{first}"
                    assert seen == [], f"the first session changed state: {seen}"
                    await gobgp_a.delete_peer(ipaddress.ip_address(foreign))

                    # A neighbor added behind the running agent's back (after its listing)
                    # at the address a new session wants: judged, never adopted.
                    await gobgp_a.add_peer(
                        PeerSpec(ipaddress.ip_address(foreign), peer_asn=ASN, description="manual")
                    )
                    dup2 = {"address": foreign, "asNumber": ASN}
                    await admin.create(BGP_ENDPOINTS, obj(BGP_ENDPOINTS, ep_man, dup2))
                    spec3 = {"localEndpoint": ep_a, "remoteEndpoint": ep_man}
                    await admin.create(BGP_SESSIONS, obj(BGP_SESSIONS, third, spec3))

                    async def outside() -> bool:
                        entry = await _entry(admin, third, ep_a)
                        return bool(
                            entry
                            and entry["configured"] is False
                            and "outside bgpctl" in entry["message"]
                        )

                    await eventually(outside, within=15, what="Conflict with a manual neighbor")
                    assert await _owner(gobgp_a, foreign) == "manual"
                    await admin.delete(BGP_SESSIONS, third)
                    await eventually(
                        lambda: _gone(admin, BGP_SESSIONS, third), within=15, what="third gone"
                    )
                    assert await _owner(gobgp_a, foreign) == "manual"
                    await gobgp_a.delete_peer(ipaddress.ip_address(foreign))

                    # The loser again; then the owner goes away and the loser takes over.
                    await admin.create(BGP_SESSIONS, obj(BGP_SESSIONS, second, spec2))
                    await eventually(
                        functools.partial(_conflict_reported, admin, second, ep_a, first),
                        within=15,
                        what="the second session reporting Conflict again",
                    )
                    await admin.delete(BGP_SESSIONS, first)
                    await eventually(
                        lambda: _gone(admin, BGP_SESSIONS, first), within=15, what="first gone"
                    )

                    async def taken_over() -> bool:
                        entry = await _entry(admin, second, ep_a)
                        owner = await _owner(gobgp_a, B6)
                        return bool(entry and entry["configured"]) and owner == (
                            f"bgpsession/{second}"
                        )

                    await eventually(taken_over, within=10, what="the second session taking over")
                    await admin.delete(BGP_SESSIONS, second)
                    await eventually(
                        lambda: _gone(admin, BGP_SESSIONS, second), within=15, what="second gone"
                    )
        finally:
            if recorder is not None:
                recorder.cancel()
                await asyncio.gather(recorder, return_exceptions=True)
            for rt, name in (
                (BGP_SESSIONS, second),
                (BGP_SESSIONS, first),
                (BGP_SESSIONS, third),
                (BGP_ENDPOINTS, ep_man),
                (BGP_ENDPOINTS, ep_a),
                (BGP_ENDPOINTS, ep_b),
                (BGP_ENDPOINTS, ep_dup),
                (BGP_CONFIGURATIONS, "default"),
            ):
                with contextlib.suppress(NotFound):
                    await admin.delete(rt, name)
            with contextlib.suppress(Exception):
                for peer in await gobgp_a.list_peers():
                    await gobgp_a.delete_peer(peer.spec.neighbor_address)


async def _has_warning(admin: KubeClient, session: str) -> bool:
    return bool(await _warning_events(admin, session))
