"""The peering-policy controller against a real kube-apiserver, on an elected leader.

The controller runs in-process under the RBAC-restricted controller identity, inside a
manager that holds the real Lease ``bgp-system/bgpctl-peering``; the test acts as admin.
Each test has a private control plane (``control_plane_factory``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from bgpctl.controllers.peeringpolicy import FIELD_MANAGER, LEASE_NAME, POLICY_LABEL
from bgpctl.controllers.resources import BGP_ENDPOINTS, BGP_PEERING_POLICIES, BGP_SESSIONS
from bgpctl.controllers.setup import prepare_cache, setup_peering_policy
from bgpctl.envtest import ControlPlane
from bgpctl.runtime.cache.informers import InformerCache
from bgpctl.runtime.client.errors import NotFound
from bgpctl.runtime.client.interfaces import EVENTS, LEASES, PatchType
from bgpctl.runtime.client.kube import KubeClient
from bgpctl.runtime.leaderelection.leaselock import LeaseLock
from bgpctl.runtime.manager import Manager, ManagerOptions
from bgpctl.runtime.recorder import CLUSTER_SCOPED_EVENT_NAMESPACE, EventRecorder

pytestmark = pytest.mark.integration

NS = "bgp-system"
# The API server accepts Events about cluster-scoped objects only in "default".
EVENT_NS = CLUSTER_SCOPED_EVENT_NAMESPACE
IDENTITY = "peering-test-leader"
WITHIN = 20.0


async def eventually(
    check: Callable[[], Awaitable[bool]], *, what: str, within: float = WITHIN
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            pytest.fail(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def leader(plane: ControlPlane) -> AsyncIterator[Manager]:
    """The peering-policy controller on an elected leader (controller identity)."""
    kube = await KubeClient.from_kubeconfig(plane.controller_kubeconfig, user_agent="bgpctl/test")
    lock = await LeaseLock.from_kubeconfig(
        plane.controller_kubeconfig, namespace=NS, name=LEASE_NAME, identity=IDENTITY
    )
    recorder = EventRecorder(kube, component="bgpctl", host="test")
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
            yield manager
        finally:
            manager.stop()
            await asyncio.wait_for(task, 35)


@contextlib.asynccontextmanager
async def admin(plane: ControlPlane) -> AsyncIterator[KubeClient]:
    async with await KubeClient.from_kubeconfig(plane.admin_kubeconfig) as kube:
        yield kube


def endpoint(name: str, address: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": BGP_ENDPOINTS.api_version,
        "kind": BGP_ENDPOINTS.kind,
        "metadata": {"name": name, "labels": labels},
        "spec": {"address": address, "asNumber": 65000},
    }


def policy(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": BGP_PEERING_POLICIES.api_version,
        "kind": BGP_PEERING_POLICIES.kind,
        "metadata": {"name": name},
        "spec": spec,
    }


async def sessions(kube: KubeClient) -> dict[str, dict[str, Any]]:
    return {s["metadata"]["name"]: s for s in (await kube.list(BGP_SESSIONS)).items}


def ready(obj: dict[str, Any]) -> dict[str, Any]:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == "Ready"), {})


async def status_is(kube: KubeClient, name: str, *, matched: int, active: int, reason: str) -> bool:
    obj = await kube.get(BGP_PEERING_POLICIES, name)
    status = obj.get("status") or {}
    return (
        status.get("matchedEndpoints") == matched
        and status.get("activeSessions") == active
        and status.get("observedGeneration") == obj["metadata"]["generation"]
        and ready(obj).get("reason") == reason
        and ready(obj).get("observedGeneration") == obj["metadata"]["generation"]
    )


async def events(kube: KubeClient, name: str, reason: str) -> list[dict[str, Any]]:
    return [
        e
        for e in (await kube.list(EVENTS, namespace=EVENT_NS)).items
        if e["involvedObject"].get("name") == name and e.get("reason") == reason
    ]


async def test_mesh_lifecycle(control_plane_factory: Callable[..., ControlPlane]) -> None:
    plane = control_plane_factory()
    async with admin(plane) as kube, leader(plane):
        lease = await kube.get(LEASES, LEASE_NAME, namespace=NS)
        assert lease["spec"]["holderIdentity"] == IDENTITY

        for i, n in enumerate(("e1", "e2", "e3")):
            await kube.create(BGP_ENDPOINTS, endpoint(n, f"2001:db8::{i + 1}", mesh="on"))
        await kube.create(BGP_ENDPOINTS, endpoint("other", "2001:db8::9"))
        # An unowned session squatting on a name the policy wants.
        await kube.create(
            BGP_SESSIONS,
            {
                "apiVersion": BGP_SESSIONS.api_version,
                "kind": BGP_SESSIONS.kind,
                "metadata": {"name": "m-e2--e3"},
                "spec": {
                    "localEndpoint": "e3",
                    "remoteEndpoint": "e2",
                    "holdTime": 30,
                    "keepaliveTime": 10,
                },
            },
        )
        created = await kube.create(
            BGP_PEERING_POLICIES, policy("m", {"selector": {"matchLabels": {"mesh": "on"}}})
        )
        uid = created["metadata"]["uid"]

        await eventually(
            lambda: status_is(kube, "m", matched=3, active=2, reason="NameConflict"),
            what="NameConflict status",
        )
        got = await sessions(kube)
        assert set(got) == {"m-e1--e2", "m-e1--e3", "m-e2--e3"}
        squatter = got["m-e2--e3"]
        assert "ownerReferences" not in squatter["metadata"]
        assert squatter["spec"]["localEndpoint"] == "e3"
        assert squatter["spec"]["holdTime"] == 30
        assert "m-e2--e3" in ready(await kube.get(BGP_PEERING_POLICIES, "m"))["message"]

        async def conflict_event() -> bool:
            return bool(await events(kube, "m", "NameConflict"))

        await eventually(conflict_event, what="NameConflict Event")
        for n in ("m-e1--e2", "m-e1--e3"):
            meta = got[n]["metadata"]
            assert meta["labels"] == {POLICY_LABEL: "m"}
            assert meta["ownerReferences"] == [
                {
                    "apiVersion": "bgp.miloapis.com/v1alpha1",
                    "kind": "BGPPeeringPolicy",
                    "name": "m",
                    "uid": uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ]
            assert got[n]["spec"]["localEndpoint"] == "e1"
        # Status is written by server-side apply as bgpctl-peering.
        managers = {
            f["manager"]
            for f in (await kube.get(BGP_PEERING_POLICIES, "m"))["metadata"]["managedFields"]
            if f.get("subresource") == "status"
        }
        assert managers == {FIELD_MANAGER}

        # The squatter goes away: the policy's own session takes its place.
        await kube.delete(BGP_SESSIONS, "m-e2--e3")
        await eventually(
            lambda: status_is(kube, "m", matched=3, active=3, reason="Reconciled"),
            what="3 sessions, Reconciled",
        )
        assert (await kube.get(BGP_SESSIONS, "m-e2--e3"))["metadata"]["ownerReferences"][0][
            "uid"
        ] == uid

        # Relabel e3 out: its sessions are deleted, the counts follow.
        await kube.patch(
            BGP_ENDPOINTS,
            "e3",
            {"metadata": {"labels": {"mesh": None}}},
            patch_type=PatchType.MERGE,
        )

        async def only_e1_e2() -> bool:
            return set(await sessions(kube)) == {"m-e1--e2"}

        await eventually(only_e1_e2, what="e3's sessions deleted")
        await eventually(
            lambda: status_is(kube, "m", matched=2, active=1, reason="Reconciled"),
            what="counts 2/1",
        )

        # Template change: the existing session is updated (drift is corrected).
        await kube.patch(
            BGP_PEERING_POLICIES,
            "m",
            {"spec": {"sessionTemplate": {"holdTime": 9, "keepaliveTime": 3}}},
            patch_type=PatchType.MERGE,
        )

        async def timers(hold: int, keepalive: int) -> bool:
            spec = (await kube.get(BGP_SESSIONS, "m-e1--e2"))["spec"]
            return (spec.get("holdTime"), spec.get("keepaliveTime")) == (hold, keepalive)

        await eventually(lambda: timers(9, 3), what="template applied")
        # Template removed: back to the CRD defaults.
        await kube.patch(
            BGP_PEERING_POLICIES,
            "m",
            {"spec": {"sessionTemplate": None}},
            patch_type=PatchType.MERGE,
        )
        await eventually(lambda: timers(90, 30), what="template removed")

        # A manual edit of an owned session is corrected.
        await kube.patch(
            BGP_SESSIONS,
            "m-e1--e2",
            {"spec": {"localEndpoint": "e2", "remoteEndpoint": "e1"}},
            patch_type=PatchType.MERGE,
        )

        async def oriented() -> bool:
            spec = (await kube.get(BGP_SESSIONS, "m-e1--e2"))["spec"]
            return spec["localEndpoint"] == "e1"

        await eventually(oriented, what="orientation restored")

        # A deleted owned session is recreated.
        old_uid = (await kube.get(BGP_SESSIONS, "m-e1--e2"))["metadata"]["uid"]
        await kube.delete(BGP_SESSIONS, "m-e1--e2")

        async def recreated() -> bool:
            try:
                return (await kube.get(BGP_SESSIONS, "m-e1--e2"))["metadata"]["uid"] != old_uid
            except NotFound:
                return False

        await eventually(recreated, what="session recreated")
        await eventually(
            lambda: status_is(kube, "m", matched=2, active=1, reason="Reconciled"),
            what="counts after recreate",
        )

        # Deleting the policy: the garbage collector removes its sessions.
        plane.start_controller_manager()
        await kube.delete(BGP_PEERING_POLICIES, "m")

        async def all_gone() -> bool:
            return not await sessions(kube)

        await eventually(all_gone, what="garbage collection of owned sessions", within=60)


async def test_route_reflector(control_plane_factory: Callable[..., ControlPlane]) -> None:
    plane = control_plane_factory()
    async with admin(plane) as kube, leader(plane):
        await kube.create(BGP_ENDPOINTS, endpoint("rr", "2001:db8::1", pp="on", role="rr"))
        await kube.create(BGP_ENDPOINTS, endpoint("c1", "2001:db8::2", pp="on"))
        await kube.create(BGP_ENDPOINTS, endpoint("c2", "2001:db8::3", pp="on"))
        await kube.create(
            BGP_PEERING_POLICIES,
            policy(
                "r",
                {
                    "selector": {"matchLabels": {"pp": "on"}},
                    "mode": "route-reflector",
                    "routeReflectorConfig": {
                        "reflectorSelector": {"matchLabels": {"role": "rr"}},
                        "clusterID": "10.0.0.1",
                    },
                },
            ),
        )
        await eventually(
            lambda: status_is(kube, "r", matched=3, active=2, reason="Reconciled"),
            what="RR Reconciled",
        )
        got = await sessions(kube)
        assert set(got) == {"r-c1--rr", "r-c2--rr"}
        for n, client in (("r-c1--rr", "c1"), ("r-c2--rr", "c2")):
            spec = got[n]["spec"]
            assert spec["localEndpoint"] == "rr"
            assert spec["remoteEndpoint"] == client
            assert spec["routeReflector"] == {"clusterID": "10.0.0.1"}

        # A second reflector: Ready=False, an Event, and nothing is deleted.
        await kube.patch(
            BGP_ENDPOINTS,
            "c2",
            {"metadata": {"labels": {"role": "rr"}}},
            patch_type=PatchType.MERGE,
        )
        await eventually(
            lambda: status_is(kube, "r", matched=3, active=2, reason="MultipleReflectors"),
            what="MultipleReflectors",
        )
        condition = ready(await kube.get(BGP_PEERING_POLICIES, "r"))
        assert condition["status"] == "False"
        assert "c2, rr" in condition["message"]

        async def warned() -> bool:
            return bool(await events(kube, "r", "MultipleReflectors"))

        await eventually(warned, what="MultipleReflectors Event")
        assert set(await sessions(kube)) == {"r-c1--rr", "r-c2--rr"}
        ev = (await events(kube, "r", "MultipleReflectors"))[0]
        assert ev["type"] == "Warning"
