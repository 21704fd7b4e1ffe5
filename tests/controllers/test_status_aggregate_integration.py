"""The leader's status aggregator against a real kube-apiserver, for advertisements and
route policies (whose node entries are applied here as the nodes' reconcilers would:
server-side apply of one ``status.nodes[]`` entry as ``bgpctl/<node>``).

Runs in-process under the controller's RBAC identity, behind a real Lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from bgpctl.controllers.resources import BGP_ADVERTISEMENTS, BGP_ENDPOINTS, BGP_ROUTE_POLICIES
from bgpctl.controllers.setup import prepare_cache
from bgpctl.controllers.statusaggregate import FIELD_MANAGER, setup_status_aggregator
from bgpctl.envtest import ControlPlane
from bgpctl.runtime.cache.informers import InformerCache
from bgpctl.runtime.client.errors import NotFound
from bgpctl.runtime.client.interfaces import PatchType, ResourceType
from bgpctl.runtime.client.kube import KubeClient
from bgpctl.runtime.leaderelection.leaselock import LeaseLock
from bgpctl.runtime.manager import Manager, ManagerOptions

pytestmark = pytest.mark.integration


async def eventually(check: Callable[[], Awaitable[bool]], *, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while not await check():
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def aggregator(plane: ControlPlane, lease: str) -> AsyncIterator[KubeClient]:
    kube = await KubeClient.from_kubeconfig(plane.controller_kubeconfig, user_agent="bgpctl/t")
    # A Lease of its own (not the agents'), so as admin: the controller's Role may
    # touch only the Lease bgpctl-peering.
    lock = await LeaseLock.from_kubeconfig(
        plane.admin_kubeconfig, namespace="bgp-system", name=lease, identity="agg-test"
    )
    async with kube, lock:
        manager = Manager(
            ManagerOptions(leader_election=True, leader_election_id=lease),
            leader_election_lock=lock,
        )
        cache = InformerCache.for_client(kube)
        prepare_cache(cache)
        manager.add_cache(cache, name="informers")
        setup_status_aggregator(manager, cache=cache, client=kube)
        task = asyncio.create_task(manager.start())
        try:
            await asyncio.wait_for(manager.wait_elected(), 30)
            yield kube
        finally:
            manager.stop()
            await asyncio.wait_for(task, 35)


def cond(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    conds = (obj.get("status") or {}).get("conditions") or []
    return next((c for c in conds if c["type"] == type_), {})


async def node_entry(kube: KubeClient, rt: ResourceType, name: str, entry: dict[str, Any]) -> None:
    body = {
        "apiVersion": rt.api_version,
        "kind": rt.kind,
        "metadata": {"name": name},
        "status": {"nodes": [entry]},
    }
    await kube.status().apply(rt, body, field_manager=f"bgpctl/{entry['node']}", force=True)


async def test_advertisement_and_route_policy_aggregates(control_plane: ControlPlane) -> None:
    tag = uuid.uuid4().hex[:6]
    adv, pol, ep = f"adv-{tag}", f"pol-{tag}", f"n1-{tag}"
    async with (
        await KubeClient.from_kubeconfig(control_plane.admin_kubeconfig) as admin,
        aggregator(control_plane, f"agg-{tag}") as kube,
    ):
        await admin.create(
            BGP_ADVERTISEMENTS,
            {
                "apiVersion": BGP_ADVERTISEMENTS.api_version,
                "kind": BGP_ADVERTISEMENTS.kind,
                "metadata": {"name": adv},
                "spec": {
                    "prefixes": ["192.0.2.0/24", "198.51.100.0/24"],
                    "nodeSelector": {"matchLabels": {"agg": tag}},
                },
            },
        )
        await admin.create(
            BGP_ROUTE_POLICIES,
            {
                "apiVersion": BGP_ROUTE_POLICIES.api_version,
                "kind": BGP_ROUTE_POLICIES.kind,
                "metadata": {"name": pol},
                "spec": {"type": "Import", "statements": [{"action": "Accept"}]},
            },
        )
        try:

            async def reason_is(rt: ResourceType, name: str, type_: str, reason: str) -> bool:
                obj = await admin.get(rt, name)
                c = cond(obj, type_)
                return (
                    c.get("reason") == reason
                    and c.get("observedGeneration") == obj["metadata"]["generation"]
                )

            # No endpoint matches the nodeSelector: False/NoNodeSelected.
            await eventually(
                lambda: reason_is(BGP_ADVERTISEMENTS, adv, "Advertised", "NoNodeSelected"),
                what="NoNodeSelected",
            )
            await eventually(
                lambda: reason_is(BGP_ROUTE_POLICIES, pol, "Applied", "Pending"), what="Pending"
            )
            # An endpoint appears: Unknown/Pending until a node reports this generation.
            await admin.create(
                BGP_ENDPOINTS,
                {
                    "apiVersion": BGP_ENDPOINTS.api_version,
                    "kind": BGP_ENDPOINTS.kind,
                    "metadata": {"name": ep, "labels": {"agg": tag}},
                    "spec": {"address": "192.0.2.10", "asNumber": 65000},
                },
            )
            await eventually(
                lambda: reason_is(BGP_ADVERTISEMENTS, adv, "Advertised", "Pending"),
                what="Pending",
            )
            base = {"reason": "Advertised", "observedGeneration": 1, "message": ""}
            await node_entry(
                kube,
                BGP_ADVERTISEMENTS,
                adv,
                {"node": "n1", "advertised": True, "advertisedPrefixes": 2, **base},
            )
            await eventually(
                lambda: reason_is(BGP_ADVERTISEMENTS, adv, "Advertised", "Advertised"),
                what="Advertised",
            )
            obj = await admin.get(BGP_ADVERTISEMENTS, adv)
            assert cond(obj, "Advertised")["status"] == "True"
            assert obj["status"]["advertisedPrefixCount"] == 2
            assert obj["status"]["observedGeneration"] == 1
            conflict = {
                "node": "n2",
                "advertised": False,
                "reason": "Conflict",
                "message": "192.0.2.0/24 is advertised by other",
                "observedGeneration": 1,
            }
            await node_entry(kube, BGP_ADVERTISEMENTS, adv, conflict)
            await eventually(
                lambda: reason_is(BGP_ADVERTISEMENTS, adv, "Advertised", "Conflict"),
                what="Conflict",
            )
            obj = await admin.get(BGP_ADVERTISEMENTS, adv)
            assert cond(obj, "Advertised")["message"] == "n2: 192.0.2.0/24 is advertised by other"
            owners = {
                mf["manager"]
                for mf in obj["metadata"]["managedFields"]
                if "f:conditions" in (mf.get("fieldsV1") or {}).get("f:status", {})
            }
            assert owners == {FIELD_MANAGER}
            # Nothing changes: no write (the resourceVersion stays).
            version = obj["metadata"]["resourceVersion"]
            await asyncio.sleep(2)
            assert (await admin.get(BGP_ADVERTISEMENTS, adv))["metadata"][
                "resourceVersion"
            ] == version
            # A spec change: the entries are stale, Pending again, observedGeneration 2.
            await admin.patch(
                BGP_ADVERTISEMENTS, adv, {"spec": {"med": 5}}, patch_type=PatchType.MERGE
            )
            await eventually(
                lambda: reason_is(BGP_ADVERTISEMENTS, adv, "Advertised", "Pending"),
                what="Pending for generation 2",
            )
            # Route policy: applied on one node, NoMatchingPeers on another -> False.
            applied = {"node": "n1", "applied": True, "peers": 1, "reason": "Applied"}
            await node_entry(kube, BGP_ROUTE_POLICIES, pol, {**applied, "observedGeneration": 1})
            await eventually(
                lambda: reason_is(BGP_ROUTE_POLICIES, pol, "Applied", "Applied"), what="Applied"
            )
            none = {"node": "n2", "applied": False, "reason": "NoMatchingPeers", "message": "x"}
            await node_entry(kube, BGP_ROUTE_POLICIES, pol, {**none, "observedGeneration": 1})
            await eventually(
                lambda: reason_is(BGP_ROUTE_POLICIES, pol, "Applied", "NoMatchingPeers"),
                what="NoMatchingPeers",
            )
        finally:
            for rt, name in (
                (BGP_ADVERTISEMENTS, adv),
                (BGP_ROUTE_POLICIES, pol),
                (BGP_ENDPOINTS, ep),
            ):
                with contextlib.suppress(NotFound):
                    await admin.delete(rt, name)
