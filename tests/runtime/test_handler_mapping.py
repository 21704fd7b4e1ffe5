"""Event handlers: which requests each event produces.

Covers enqueue_for_object, enqueue_for_owner (group/kind match, controller-only,
namespaced owners, old and new owners on update) and enqueue_from_map_func (old and new
on update, deduplicated). Handlers are synchronous; a list stands in for the queue.
"""

from __future__ import annotations

from typing import Any

import pytest

from bgpctl.runtime.event import CreateEvent, DeleteEvent, GenericEvent, UpdateEvent
from bgpctl.runtime.handler import (
    enqueue_for_object,
    enqueue_for_owner,
    enqueue_from_map_func,
    request_for,
)
from bgpctl.runtime.reconcile import Request

GROUP = "bgp.miloapis.com"


class ListQueue:
    def __init__(self) -> None:
        self.items: list[Request] = []

    def add(self, item: Request) -> None:
        self.items.append(item)


def obj(name: str, namespace: str = "", **meta: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, **meta}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": f"{GROUP}/v1alpha1", "kind": "BGPSession", "metadata": metadata}


def owner_ref(
    name: str, *, kind: str = "BGPPeeringPolicy", api_version: str = f"{GROUP}/v1alpha1",
    controller: bool | None = True,
) -> dict[str, Any]:  # fmt: skip
    ref: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "name": name, "uid": "u"}
    if controller is not None:
        ref["controller"] = controller
    return ref


def test_request_for_object_key_shape() -> None:
    assert request_for(obj("a")) == Request(name="a")
    assert request_for(obj("a", "ns")) == Request(namespace="ns", name="a")
    assert str(Request(namespace="ns", name="a")) == "ns/a"
    assert str(Request(name="a")) == "a"
    assert request_for({"metadata": {}}) is None


def test_enqueue_for_object_every_event_type() -> None:
    q = ListQueue()
    h = enqueue_for_object()
    h.create(CreateEvent(obj("c")), q)
    h.update(UpdateEvent(obj("u", resourceVersion="1"), obj("u", resourceVersion="2")), q)
    h.delete(DeleteEvent(obj("d", "ns")), q)
    h.generic(GenericEvent(obj("g")), q)
    assert q.items == [
        Request(name="c"),
        Request(name="u"),
        Request(namespace="ns", name="d"),
        Request(name="g"),
    ]


def test_enqueue_for_object_skips_nameless_objects(quiet_logs: list[dict[str, Any]]) -> None:
    q = ListQueue()
    enqueue_for_object().generic(GenericEvent({}), q)
    assert q.items == []
    assert [e["event"] for e in quiet_logs] == ["event object has no name"]


def test_enqueue_for_owner_matches_group_and_kind_ignoring_version() -> None:
    q = ListQueue()
    h = enqueue_for_owner(owner_group=GROUP, owner_kind="BGPPeeringPolicy")
    child = obj(
        "s",
        ownerReferences=[
            owner_ref("p1"),
            owner_ref("p2", api_version=f"{GROUP}/v1beta1", controller=False),
            owner_ref("other-kind", kind="BGPEndpoint"),
            owner_ref("other-group", api_version="example.com/v1alpha1"),
            owner_ref("core", api_version="v1"),
        ],
    )
    h.create(CreateEvent(child), q)
    assert q.items == [Request(name="p1"), Request(name="p2")]


def test_enqueue_for_owner_only_controller() -> None:
    q = ListQueue()
    h = enqueue_for_owner(owner_group=GROUP, owner_kind="BGPPeeringPolicy", only_controller=True)
    child = obj(
        "s",
        ownerReferences=[
            owner_ref("not-controller", controller=False),
            owner_ref("unset", controller=None),
            owner_ref("the-controller"),
        ],
    )
    h.delete(DeleteEvent(child), q)
    assert q.items == [Request(name="the-controller")]


def test_enqueue_for_owner_core_group_and_namespaced_owner() -> None:
    q = ListQueue()
    h = enqueue_for_owner(owner_group="", owner_kind="ConfigMap", owner_namespaced=True)
    child = obj("s", "ns", ownerReferences=[owner_ref("cm", kind="ConfigMap", api_version="v1")])
    h.generic(GenericEvent(child), q)
    assert q.items == [Request(namespace="ns", name="cm")]


def test_cluster_scoped_owner_of_namespaced_object_has_no_namespace() -> None:
    q = ListQueue()
    h = enqueue_for_owner(owner_group=GROUP, owner_kind="BGPPeeringPolicy")
    h.create(CreateEvent(obj("s", "ns", ownerReferences=[owner_ref("p")])), q)
    assert q.items == [Request(name="p")]


def test_enqueue_for_owner_update_enqueues_old_and_new_owners_once() -> None:
    q = ListQueue()
    h = enqueue_for_owner(owner_group=GROUP, owner_kind="BGPPeeringPolicy")
    old = obj("s", ownerReferences=[owner_ref("p1"), owner_ref("p2", controller=False)])
    new = obj("s", ownerReferences=[owner_ref("p2", controller=False), owner_ref("p3")])
    h.update(UpdateEvent(old, new), q)
    assert q.items == [Request(name="p1"), Request(name="p2"), Request(name="p3")]


def test_object_without_owner_references_enqueues_nothing() -> None:
    q = ListQueue()
    enqueue_for_owner(owner_group=GROUP, owner_kind="BGPPeeringPolicy").create(
        CreateEvent(obj("s")), q
    )
    assert q.items == []


def _policies_selecting(endpoint: dict[str, Any]) -> list[Request]:
    role = endpoint["metadata"].get("labels", {}).get("role")
    return [Request(name=f"policy-{role}"), Request(name="policy-all")] if role else []


@pytest.mark.parametrize(
    ("old_role", "new_role", "expected"),
    [
        ("edge", "core", ["policy-edge", "policy-all", "policy-core"]),
        ("edge", "edge", ["policy-edge", "policy-all"]),
        (None, "core", ["policy-core", "policy-all"]),
    ],
    ids=["label-change", "no-change", "label-added"],
)
def test_map_func_update_maps_old_and_new_deduplicated(
    old_role: str | None, new_role: str, expected: list[str]
) -> None:
    q = ListQueue()
    h = enqueue_from_map_func(_policies_selecting)
    old = obj("ep", labels={"role": old_role} if old_role else {})
    new = obj("ep", labels={"role": new_role})
    h.update(UpdateEvent(old, new), q)
    assert [r.name for r in q.items] == expected


def test_map_func_other_events_map_their_object() -> None:
    q = ListQueue()
    h = enqueue_from_map_func(_policies_selecting)
    h.create(CreateEvent(obj("ep", labels={"role": "a"})), q)
    h.delete(DeleteEvent(obj("ep", labels={"role": "b"})), q)
    h.generic(GenericEvent(obj("ep")), q)
    assert [r.name for r in q.items] == ["policy-a", "policy-all", "policy-b", "policy-all"]
