"""EventRecorder on the real API server, as the RBAC-restricted controller identity.

Covers: the Event lands in "default" for a cluster-scoped object; repeating it
aggregates into one Event whose count is raised by patches; a different message is
a different Event. Spam filtering and retries are unit-tested.
"""

from __future__ import annotations

import uuid

import pytest

from bgpctl.runtime.client.interfaces import EVENTS, ResourceType
from bgpctl.runtime.client.kube import KubeClient
from bgpctl.runtime.recorder import EventRecorder

pytestmark = pytest.mark.integration

ENDPOINTS = ResourceType("bgp.miloapis.com", "v1alpha1", "bgpendpoints", "BGPEndpoint", False)


async def test_repeated_events_aggregate_into_one_with_count(control_plane) -> None:  # type: ignore[no-untyped-def]
    name = f"rec-{uuid.uuid4().hex[:8]}"
    async with await KubeClient.from_kubeconfig(control_plane.admin_kubeconfig) as admin:
        obj = await admin.create(
            ENDPOINTS,
            {
                "apiVersion": "bgp.miloapis.com/v1alpha1",
                "kind": "BGPEndpoint",
                "metadata": {"name": name},
                "spec": {"address": "2001:db8::1", "asNumber": 65001},
            },
        )
        async with (
            await KubeClient.from_kubeconfig(control_plane.controller_kubeconfig) as controller,
            EventRecorder(controller, component="bgpctl", host="node-a") as recorder,
        ):
            for _ in range(3):
                recorder.warning(obj, "PeerUnreachable", "no route to 2001:db8::1")
            recorder.warning(obj, "PeerUnreachable", "a different message")
        events = await admin.list(
            EVENTS, namespace="default", field_selector=f"involvedObject.name={name}"
        )
        await admin.delete(ENDPOINTS, name)
    by_message = {e["message"]: e for e in events.items}
    assert set(by_message) == {"no route to 2001:db8::1", "a different message"}
    aggregated = by_message["no route to 2001:db8::1"]
    assert aggregated["count"] == 3
    assert aggregated["involvedObject"]["uid"] == obj["metadata"]["uid"]
    assert aggregated["source"] == {"component": "bgpctl", "host": "node-a"}
    assert aggregated["type"] == "Warning" and aggregated["reason"] == "PeerUnreachable"
    assert by_message["a different message"]["count"] == 1
