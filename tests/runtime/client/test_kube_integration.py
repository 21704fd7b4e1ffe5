"""KubeClient against a real kube-apiserver: CRUD, error mapping, patches, SSA, status.

Covers: construction from kubeconfig / ``$KUBECONFIG``; create/get/list/update/delete
on a CRD and on core Events; mapping of real NotFound, AlreadyExists, Invalid (with
field causes), Conflict and Forbidden answers; merge and JSON patches; server-side
apply with field managers (managedFields, conflict without force, win with force);
status subresource writes and ``retry_on_conflict`` on real conflicts; a raw watch.
Leaves out: in-cluster config (no pod here).
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from bgpctl.runtime.client import errors
from bgpctl.runtime.client.interfaces import (
    EVENTS,
    PatchType,
    Preconditions,
    ResourceType,
    WatchEventType,
)
from bgpctl.runtime.client.kube import KubeClient
from bgpctl.runtime.client.retry import retry_on_conflict

pytestmark = pytest.mark.integration

GROUP, VERSION = "bgp.miloapis.com", "v1alpha1"
CONFIGS = ResourceType(GROUP, VERSION, "bgpconfigurations", "BGPConfiguration", namespaced=False)
ENDPOINTS = ResourceType(GROUP, VERSION, "bgpendpoints", "BGPEndpoint", namespaced=False)
SESSIONS = ResourceType(GROUP, VERSION, "bgpsessions", "BGPSession", namespaced=False)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def endpoint(name: str, address: str = "192.0.2.1", asn: int = 65001) -> dict:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "BGPEndpoint",
        "metadata": {"name": name, "labels": {"test": "client"}},
        "spec": {"address": address, "asNumber": asn},
    }


@pytest.fixture
async def client(control_plane):  # type: ignore[no-untyped-def]
    async with await KubeClient.from_kubeconfig(control_plane.admin_kubeconfig) as c:
        yield c


async def test_crud_round_trip_and_error_mapping(client: KubeClient) -> None:
    name = unique("ep")
    created = await client.create(ENDPOINTS, endpoint(name))
    assert created["metadata"]["uid"] and created["kind"] == "BGPEndpoint"
    with pytest.raises(errors.AlreadyExists) as exists:
        await client.create(ENDPOINTS, endpoint(name))
    assert errors.is_already_exists(exists.value) and not errors.is_conflict(exists.value)

    got = await client.get(ENDPOINTS, name)
    got["spec"]["asNumber"] = 65002
    updated = await client.update(ENDPOINTS, got)
    assert updated["spec"]["asNumber"] == 65002

    stale = dict(got)  # still carries the old resourceVersion
    with pytest.raises(errors.Conflict) as conflict:
        await client.update(ENDPOINTS, stale)
    assert errors.is_conflict(conflict.value)

    listed = await client.list(ENDPOINTS, label_selector="test=client")
    assert name in {o["metadata"]["name"] for o in listed.items}
    assert int(listed.resource_version) >= int(updated["metadata"]["resourceVersion"])
    assert all(o["kind"] == "BGPEndpoint" for o in listed.items)

    with pytest.raises(errors.Conflict):
        await client.delete(ENDPOINTS, name, preconditions=Preconditions(uid="not-the-uid"))
    await client.delete(ENDPOINTS, name)
    with pytest.raises(errors.NotFound) as missing:
        await client.get(ENDPOINTS, name)
    assert errors.is_not_found(missing.value) and missing.value.code == 404


async def test_invalid_objects_report_field_causes(client: KubeClient) -> None:
    with pytest.raises(errors.Invalid) as info:
        await client.create(ENDPOINTS, endpoint(unique("bad"), address="not-an-ip", asn=0))
    fields = {c.field for c in info.value.causes}
    assert "spec.address" in fields and "spec.asNumber" in fields
    assert info.value.code == 422


async def test_merge_and_json_patches(client: KubeClient) -> None:
    name = unique("ep")
    await client.create(ENDPOINTS, endpoint(name))
    merged = await client.patch(
        ENDPOINTS, name, {"metadata": {"labels": {"tier": "edge"}}}, patch_type=PatchType.MERGE
    )
    assert merged["metadata"]["labels"] == {"test": "client", "tier": "edge"}
    jsoned = await client.patch(
        ENDPOINTS,
        name,
        [{"op": "replace", "path": "/spec/asNumber", "value": 64512}],
        patch_type=PatchType.JSON,
    )
    assert jsoned["spec"]["asNumber"] == 64512
    await client.delete(ENDPOINTS, name)


async def test_server_side_apply_managers_conflict_and_force(client: KubeClient) -> None:
    name = unique("ep")
    body = endpoint(name)
    applied = await client.apply(ENDPOINTS, body, field_manager="node-a")
    managers = {(m["manager"], m["operation"]) for m in applied["metadata"]["managedFields"]}
    assert ("node-a", "Apply") in managers

    rival = endpoint(name, asn=65099)
    with pytest.raises(errors.Conflict) as conflict:
        await client.apply(ENDPOINTS, rival, field_manager="node-b")
    assert errors.is_conflict(conflict.value)
    assert any("asNumber" in c.field for c in conflict.value.causes)

    forced = await client.apply(ENDPOINTS, rival, field_manager="node-b", force=True)
    assert forced["spec"]["asNumber"] == 65099
    owners = {
        m["manager"]
        for m in forced["metadata"]["managedFields"]
        if "f:asNumber" in str(m.get("fieldsV1", {}))
    }
    assert owners == {"node-b"}
    await client.delete(ENDPOINTS, name)


def _condition(reason: str) -> dict:
    return {
        "type": "Ready",
        "status": "True",
        "reason": reason,
        "message": "m",
        "lastTransitionTime": "2024-01-01T00:00:00Z",
    }


async def test_status_update_conflicts_are_retried(client: KubeClient) -> None:
    name = unique("sess")
    await client.create(
        SESSIONS,
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "BGPSession",
            "metadata": {"name": name},
            "spec": {"localEndpoint": "node-a", "remoteEndpoint": "node-b"},
        },
    )
    attempts = 0

    async def write_status() -> dict:
        nonlocal attempts
        attempts += 1
        obj = await client.get(SESSIONS, name)
        if attempts == 1:
            # Someone else writes the status between our read and our write.
            rival = await client.get(SESSIONS, name)
            rival["status"] = {"conditions": [_condition("Rival")]}
            await client.status().update(SESSIONS, rival)
        obj["status"] = {"conditions": [_condition("Configured")]}
        return await client.status().update(SESSIONS, obj)

    written = await retry_on_conflict(write_status)
    assert attempts == 2
    assert written["status"]["conditions"][0]["reason"] == "Configured"

    patched = await client.status().patch(
        SESSIONS,
        name,
        {"status": {"conditions": [_condition("Patched")]}},
        patch_type=PatchType.MERGE,
    )
    assert patched["status"]["conditions"][0]["reason"] == "Patched"

    applied = await client.status().apply(
        SESSIONS,
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "BGPSession",
            "metadata": {"name": name},
            "status": {"conditions": [{**_condition("Applied"), "type": "Established"}]},
        },
        field_manager="node-a",
    )
    reasons = {c["type"]: c["reason"] for c in applied["status"]["conditions"]}
    assert reasons == {"Ready": "Patched", "Established": "Applied"}
    status_managers = {
        m["manager"]
        for m in applied["metadata"]["managedFields"]
        if m.get("subresource") == "status"
    }
    assert "node-a" in status_managers
    await client.delete(SESSIONS, name)


async def test_controller_identity_is_bound_by_rbac(control_plane) -> None:  # type: ignore[no-untyped-def]
    async with await KubeClient.from_kubeconfig(control_plane.controller_kubeconfig) as c:
        await c.list(ENDPOINTS)  # allowed
        with pytest.raises(errors.Forbidden) as info:
            await c.create(ENDPOINTS, endpoint(unique("ep")))
        assert errors.is_forbidden(info.value) and info.value.code == 403


async def test_from_environment_honours_kubeconfig(control_plane, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KUBECONFIG", str(control_plane.admin_kubeconfig))
    async with await KubeClient.from_environment() as c:
        assert c.server_url == control_plane.server_url
        await c.list(CONFIGS)


async def test_core_events_and_raw_watch(client: KubeClient) -> None:
    start = await client.list(EVENTS, namespace="default")
    name = unique("ev")
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": "default"},
        "involvedObject": {"apiVersion": "v1", "kind": "Namespace", "name": "default"},
        "reason": "Test",
        "message": "hello",
        "type": "Normal",
    }
    stream = client.watch(
        EVENTS, namespace="default", resource_version=start.resource_version, timeout_seconds=30
    )
    await client.create(EVENTS, event)
    seen = None
    async with asyncio.timeout(20):
        async for ev in stream:
            if ev.type is WatchEventType.ADDED and ev.object["metadata"]["name"] == name:
                seen = ev
                break
    await stream.aclose()  # type: ignore[attr-defined]
    assert seen is not None and seen.object["kind"] == "Event"
    got = await client.get(EVENTS, name, namespace="default")
    assert got["apiVersion"] == "v1" and got["message"] == "hello"


async def test_watch_from_a_compacted_rv_yields_an_expired_error_event(
    control_plane_factory,
) -> None:  # type: ignore[no-untyped-def]
    plane = await asyncio.to_thread(control_plane_factory, ["--watch-cache=false"])
    async with await KubeClient.from_kubeconfig(plane.admin_kubeconfig) as c:
        old = (await c.list(ENDPOINTS)).resource_version
        for i in range(3):
            await c.create(ENDPOINTS, endpoint(f"compact-{i}"))
        await asyncio.to_thread(plane.compact_etcd)
        events = [ev async for ev in c.watch(ENDPOINTS, resource_version=old, timeout_seconds=10)]
    assert events[0].type is WatchEventType.ERROR
    err = errors.from_status(events[0].object)
    assert errors.is_expired(err) and err.code == 410
