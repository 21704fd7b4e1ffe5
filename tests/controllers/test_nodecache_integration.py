"""The node agent's cache against a real kube-apiserver: only this node's sessions.

The CRD declares ``spec.localEndpoint`` and ``spec.remoteEndpoint`` selectable, the
cache lists and watches sessions with one field selector for each, and presents the
two as one informer. Endpoints are all there, slimmed by the transform. Runs under the
controller's RBAC identity.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bgpctl.controllers.nodecache import cluster_cache, node_cache
from bgpctl.controllers.resources import BGP_ENDPOINTS, BGP_ROUTE_POLICIES, BGP_SESSIONS
from bgpctl.controllers.sessionpeer import ENDPOINT_INDEX
from bgpctl.controllers.setup import prepare_cache
from bgpctl.envtest import ControlPlane
from bgpctl.runtime.cache.informers import InformerCache
from bgpctl.runtime.client.errors import NotFound
from bgpctl.runtime.client.interfaces import PatchType
from bgpctl.runtime.client.kube import KubeClient

pytestmark = pytest.mark.integration


def obj(rt: Any, name: str, spec: dict[str, Any], **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": rt.api_version,
        "kind": rt.kind,
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
    }


@contextlib.asynccontextmanager
async def running(cache: InformerCache) -> AsyncIterator[None]:
    task = asyncio.create_task(cache.start())
    try:
        async with asyncio.timeout(20):
            await cache.wait_for_cache_sync()
        yield
    finally:
        task.cancel()
        await asyncio.wait([task])


async def names(cache: InformerCache) -> set[str]:
    return {s["metadata"]["name"] for s in (await cache.list(BGP_SESSIONS)).items}


async def eventually(check: Any, within: float = 20.0) -> None:
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 - polls a cache read, no event to wait on
            await asyncio.sleep(0.05)


async def test_node_cache_holds_only_the_sessions_naming_the_node(
    control_plane: ControlPlane,
) -> None:
    t = uuid.uuid4().hex[:6]
    e1, e2, e3 = f"nc1-{t}", f"nc2-{t}", f"nc3-{t}"
    async with (
        await KubeClient.from_kubeconfig(control_plane.admin_kubeconfig) as admin,
        await KubeClient.from_kubeconfig(control_plane.controller_kubeconfig) as kube,
    ):
        pairs: dict[str, tuple[str, str]] = {}
        try:
            for i, e in enumerate((e1, e2, e3)):
                spec = {"address": f"2001:db8:ca::{i + 1}", "asNumber": 65000}
                await admin.create(BGP_ENDPOINTS, obj(BGP_ENDPOINTS, e, spec, role="x"))
                await admin.patch(
                    BGP_ENDPOINTS,
                    e,
                    {"status": {"nodes": []}, "metadata": {"annotations": {"note": "dropped"}}},
                    patch_type=PatchType.MERGE,
                )
            pairs = {f"s12-{t}": (e1, e2), f"s23-{t}": (e2, e3), f"s31-{t}": (e3, e1)}
            for name, (local, remote) in pairs.items():
                spec = {"localEndpoint": local, "remoteEndpoint": remote}
                await admin.create(BGP_SESSIONS, obj(BGP_SESSIONS, name, spec))

            # Two nodes' status entries on a route policy: e1's cache keeps its own only.
            await admin.create(
                BGP_ROUTE_POLICIES,
                obj(
                    BGP_ROUTE_POLICIES,
                    f"rp-{t}",
                    {
                        "type": "Import",
                        "statements": [
                            {"action": "Reject", "prefixSet": [{"cidr": "2001:db8:dd::/48"}]}
                        ],
                    },
                ),
            )
            for node in (e1, e2):
                entry = {"node": node, "applied": True, "reason": "Applied", "peers": 0}
                await admin.status().apply(
                    BGP_ROUTE_POLICIES,
                    {
                        "apiVersion": BGP_ROUTE_POLICIES.api_version,
                        "kind": BGP_ROUTE_POLICIES.kind,
                        "metadata": {"name": f"rp-{t}"},
                        "status": {"nodes": [entry]},
                    },
                    field_manager=f"test/{node}",
                )

            cache = node_cache(kube, e1)
            prepare_cache(cache)
            async with running(cache):
                assert await names(cache) == {f"s12-{t}", f"s31-{t}"}
                informer = cache.get_informer(BGP_SESSIONS)
                assert {
                    s["metadata"]["name"] for s in informer.indexer.by_index(ENDPOINT_INDEX, e1)
                } == {
                    f"s12-{t}",
                    f"s31-{t}",
                }
                # Endpoints: all of them, only the fields the agent reads.
                ep = await cache.get(BGP_ENDPOINTS, e2)
                assert ep["spec"]["address"] == "2001:db8:ca::2"
                assert ep["metadata"]["labels"] == {"role": "x"}
                assert "managedFields" not in ep["metadata"]
                assert "annotations" not in ep["metadata"]
                assert "status" not in ep
                rp = await cache.get(BGP_ROUTE_POLICIES, f"rp-{t}")
                assert [n["node"] for n in rp["status"]["nodes"]] == [e1]
                assert "managedFields" not in rp["metadata"]

                # A session that comes to name e1 enters the cache; one that stops leaves it.
                await admin.patch(
                    BGP_SESSIONS,
                    f"s23-{t}",
                    {"spec": {"localEndpoint": e1}},
                    patch_type=PatchType.MERGE,
                )
                await admin.patch(
                    BGP_SESSIONS,
                    f"s12-{t}",
                    {"spec": {"localEndpoint": e3}},
                    patch_type=PatchType.MERGE,
                )

                async def moved() -> bool:
                    return await names(cache) == {f"s23-{t}", f"s31-{t}"}

                await eventually(moved)
                # Moving between the two selections (local -> remote) keeps it in the cache.
                await admin.patch(
                    BGP_SESSIONS,
                    f"s31-{t}",
                    {"spec": {"localEndpoint": e1, "remoteEndpoint": e3}},
                    patch_type=PatchType.MERGE,
                )

                async def swapped() -> bool:
                    s31 = await cache.get(BGP_SESSIONS, f"s31-{t}")
                    return bool(s31["spec"]["localEndpoint"] == e1)

                await eventually(swapped)
                assert await names(cache) == {f"s23-{t}", f"s31-{t}"}

            full = cluster_cache(kube)
            prepare_cache(full)
            async with running(full):
                assert set(pairs) <= await names(full)
        finally:
            # The shared control plane's other tests run agents: leave nothing behind.
            for rt, names_ in (
                (BGP_ROUTE_POLICIES, [f"rp-{t}"]),
                (BGP_SESSIONS, list(pairs)),
                (BGP_ENDPOINTS, [e1, e2, e3]),
            ):
                for n in names_:
                    with contextlib.suppress(NotFound):
                        await admin.delete(rt, n)
