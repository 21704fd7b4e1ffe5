"""Predicates: the built-in filters, label selectors and the combinators.

Pure functions over events; no loop or queue involved.
"""

from __future__ import annotations

from typing import Any

import pytest

from bgpctl.runtime.event import CreateEvent, DeleteEvent, GenericEvent, UpdateEvent
from bgpctl.runtime.predicate import (
    Funcs,
    LabelSelector,
    Predicate,
    and_,
    annotation_changed,
    generation_changed,
    label_selector,
    labels_changed,
    not_,
    or_,
    resource_version_changed,
)


def obj(**meta: Any) -> dict[str, Any]:
    return {"metadata": {"name": "x", **meta}}


def passes_all_but_update(p: Predicate) -> bool:
    return (
        p.create(CreateEvent(obj()))
        and p.delete(DeleteEvent(obj()))
        and p.generic(GenericEvent(obj()))
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ({"generation": 1}, {"generation": 2}, True),
        ({"generation": 2}, {"generation": 2, "resourceVersion": "9"}, False),
        ({}, {}, False),
        ({}, {"generation": 1}, True),
    ],
    ids=["bumped", "status-only", "no-generation", "appeared"],
)
def test_generation_changed(old: dict[str, Any], new: dict[str, Any], expected: bool) -> None:
    p = generation_changed()
    assert p.update(UpdateEvent(obj(**old), obj(**new))) is expected
    assert passes_all_but_update(p)


def test_resource_version_changed_drops_resyncs() -> None:
    p = resource_version_changed()
    assert p.update(UpdateEvent(obj(resourceVersion="1"), obj(resourceVersion="2")))
    assert not p.update(UpdateEvent(obj(resourceVersion="1"), obj(resourceVersion="1")))
    assert passes_all_but_update(p)


@pytest.mark.parametrize(
    ("factory", "field"),
    [(labels_changed, "labels"), (annotation_changed, "annotations")],
    ids=["labels", "annotations"],
)
def test_map_changed_predicates(factory: Any, field: str) -> None:
    p: Predicate = factory()
    assert p.update(UpdateEvent(obj(**{field: {"a": "1"}}), obj(**{field: {"a": "2"}})))
    assert not p.update(UpdateEvent(obj(**{field: {"a": "1"}}), obj(**{field: {"a": "1"}})))
    assert not p.update(UpdateEvent(obj(), obj(**{field: {}})))  # missing == empty
    assert p.update(UpdateEvent(obj(), obj(**{field: {"a": "1"}})))
    assert passes_all_but_update(p)


def test_label_selector_applies_to_every_event_type_and_new_object_on_update() -> None:
    p = label_selector({"matchLabels": {"role": "edge"}})
    edge, core = obj(labels={"role": "edge"}), obj(labels={"role": "core"})
    assert p.create(CreateEvent(edge))
    assert not p.create(CreateEvent(core))
    assert p.update(UpdateEvent(core, edge))
    assert not p.update(UpdateEvent(edge, core))
    assert p.delete(DeleteEvent(edge))
    assert not p.generic(GenericEvent(obj()))


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ({}, {}, True),
        ({}, {"a": "1"}, True),
        (None, {}, False),
        (None, {"a": "1"}, False),
        ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
        ({"matchLabels": {"a": "1", "b": "2"}}, {"a": "1"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]},
         {"a": "2"}, True),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1"]}]}, {}, False),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]},
         {"a": "1"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"b": "1"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"b": "1"}, True),
        ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": "1"}, False),
        ({"matchLabels": {"a": "1"},
          "matchExpressions": [{"key": "b", "operator": "Exists"}]}, {"a": "1"}, False),
    ],
)  # fmt: skip
def test_label_selector_semantics(
    selector: dict[str, Any] | None, labels: dict[str, str], expected: bool
) -> None:
    assert LabelSelector.from_dict(selector).matches(labels) is expected


@pytest.mark.parametrize(
    "expression",
    [
        {"key": "a", "operator": "In", "values": []},
        {"key": "a", "operator": "NotIn"},
        {"key": "a", "operator": "Exists", "values": ["x"]},
        {"key": "a", "operator": "DoesNotExist", "values": ["x"]},
        {"key": "a", "operator": "Gt", "values": ["1"]},
        {"operator": "Exists"},
    ],
    ids=["in-empty", "notin-missing", "exists-values", "dne-values", "unknown-op", "no-key"],
)
def test_malformed_selector_is_rejected(expression: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        label_selector({"matchExpressions": [expression]})


YES = Funcs()
NO = Funcs(
    on_create=lambda e: False,
    on_update=lambda e: False,
    on_delete=lambda e: False,
    on_generic=lambda e: False,
)


def all_events(p: Predicate) -> list[bool]:
    return [
        p.create(CreateEvent(obj())),
        p.update(UpdateEvent(obj(), obj())),
        p.delete(DeleteEvent(obj())),
        p.generic(GenericEvent(obj())),
    ]


@pytest.mark.parametrize(
    ("predicate", "expected"),
    [
        (and_(), True),
        (and_(YES, YES), True),
        (and_(YES, NO), False),
        (or_(), False),
        (or_(NO, YES), True),
        (or_(NO, NO), False),
        (not_(YES), False),
        (not_(NO), True),
        (not_(and_(YES, not_(NO))), False),
    ],
)
def test_combinators(predicate: Predicate, expected: bool) -> None:
    assert all_events(predicate) == [expected] * 4


def test_and_stops_at_first_failure() -> None:
    calls: list[str] = []

    def spy(name: str, result: bool) -> Predicate:
        def record(_: object) -> bool:
            calls.append(name)
            return result

        return Funcs(on_create=record)

    assert not and_(spy("a", False), spy("b", True)).create(CreateEvent(obj()))
    assert or_(spy("c", True), spy("d", False)).create(CreateEvent(obj()))
    assert calls == ["a", "c"]
