"""Condition helpers follow meta.SetStatusCondition; label selectors match like the API server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bgpctl.api.meta import LabelSelector, LabelSelectorRequirement, find_condition, set_condition

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_transition_time_changes_only_with_status() -> None:
    conds = set_condition([], type="Ready", status="False", reason="A", message="a", now=T0)
    later = T0 + timedelta(minutes=5)
    same = set_condition(conds, type="Ready", status="False", reason="B", message="b", now=later)
    ready = find_condition(same, "Ready")
    assert ready is not None
    assert ready.last_transition_time == T0 and ready.reason == "B" and ready.message == "b"
    flipped = set_condition(same, type="Ready", status="True", reason="C", message="", now=later)
    flipped_ready = find_condition(flipped, "Ready")
    assert flipped_ready is not None and flipped_ready.last_transition_time == later


def test_other_conditions_keep_their_place() -> None:
    conds = set_condition([], type="A", status="True", reason="R", message="", now=T0)
    conds = set_condition(conds, type="B", status="True", reason="R", message="", now=T0)
    conds = set_condition(conds, type="A", status="False", reason="R", message="", now=T0)
    assert [c.type for c in conds] == ["A", "B"]
    assert conds[0].status == "False"


def test_label_selector_operators() -> None:
    sel = LabelSelector(
        match_labels={"role": "node"},
        match_expressions=[
            LabelSelectorRequirement(key="zone", operator="In", values=["a", "b"]),
            LabelSelectorRequirement(key="drain", operator="DoesNotExist"),
            LabelSelectorRequirement(key="tier", operator="NotIn", values=["edge"]),
            LabelSelectorRequirement(key="rack", operator="Exists"),
        ],
    )
    assert sel.matches({"role": "node", "zone": "a", "rack": "1"})
    assert not sel.matches({"role": "node", "zone": "c", "rack": "1"})
    assert not sel.matches({"role": "node", "zone": "a", "rack": "1", "drain": ""})
    assert not sel.matches({"role": "node", "zone": "a", "rack": "1", "tier": "edge"})
    assert not sel.matches({"role": "node", "zone": "a"})
    assert LabelSelector().matches({})
