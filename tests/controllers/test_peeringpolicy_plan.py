"""desired_sessions and the session names: pure functions, no API server."""

from __future__ import annotations

import re
from typing import Any

from bgpctl.api.v1alpha1.peeringpolicy import BGPPeeringPolicySpec
from bgpctl.controllers.peeringplan import (
    MAX_NAME,
    SessionPlan,
    desired_sessions,
    hashed_session_name,
    is_label_value,
    session_name,
)

DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def spec(**fields: Any) -> BGPPeeringPolicySpec:
    return BGPPeeringPolicySpec.model_validate({"selector": {"matchLabels": {"pp": "x"}}, **fields})


ON = {"pp": "x"}


def test_mesh_one_session_per_unordered_pair_smaller_name_local() -> None:
    endpoints = {"c": ON, "a": ON, "b": ON, "d": {"pp": "other"}}
    plan = desired_sessions("p", spec(), endpoints)
    assert plan.matched == ("a", "b", "c")
    assert plan.reason is None
    assert [(s.name, s.local_endpoint, s.remote_endpoint) for s in plan.sessions] == [
        ("p-a--b", "a", "b"),
        ("p-a--c", "a", "c"),
        ("p-b--c", "b", "c"),
    ]
    assert all(s.cluster_id is None for s in plan.sessions)


def test_template_timers_copied_only_when_set() -> None:
    endpoints = {"a": ON, "b": ON}
    (plain,) = desired_sessions("p", spec(), endpoints).sessions
    assert plain.spec() == {"localEndpoint": "a", "remoteEndpoint": "b"}
    (timed,) = desired_sessions(
        "p", spec(sessionTemplate={"holdTime": 9, "keepaliveTime": 3}), endpoints
    ).sessions
    assert timed.spec() == {
        "localEndpoint": "a",
        "remoteEndpoint": "b",
        "holdTime": 9,
        "keepaliveTime": 3,
    }


def rr_spec(**extra: Any) -> BGPPeeringPolicySpec:
    return spec(
        mode="route-reflector",
        routeReflectorConfig={
            "reflectorSelector": {"matchLabels": {"rr": "yes"}},
            "clusterID": "10.0.0.1",
        },
        **extra,
    )


def test_route_reflector_reflector_is_local_name_from_sorted_pair() -> None:
    endpoints = {"a": ON, "b": ON, "z": {**ON, "rr": "yes"}}
    plan = desired_sessions("p", rr_spec(), endpoints)
    assert [(s.name, s.local_endpoint, s.remote_endpoint, s.cluster_id) for s in plan.sessions] == [
        ("p-a--z", "z", "a", "10.0.0.1"),
        ("p-b--z", "z", "b", "10.0.0.1"),
    ]
    assert plan.sessions[0].spec()["routeReflector"] == {"clusterID": "10.0.0.1"}


def test_route_reflector_needs_exactly_one_reflector() -> None:
    none = desired_sessions("p", rr_spec(), {"a": ON, "b": ON})
    assert (none.reason, none.sessions, none.matched) == ("NoReflector", (), ("a", "b"))
    two = desired_sessions("p", rr_spec(), {"a": {**ON, "rr": "yes"}, "b": {**ON, "rr": "yes"}})
    assert two.reason == "MultipleReflectors"
    assert two.sessions == ()
    assert "a, b" in two.message


def test_reflector_outside_the_selector_does_not_count() -> None:
    plan = desired_sessions("p", rr_spec(), {"a": ON, "r": {"rr": "yes"}})
    assert plan.reason == "NoReflector"


def test_long_names_are_hashed_valid_and_deterministic() -> None:
    policy, a, b = "p" * 200, "a" * 60, "b" * 60
    name = session_name(policy, b, a)
    assert len(name) <= MAX_NAME
    assert DNS1123.match(name)
    assert name == session_name(policy, a, b) == hashed_session_name(policy, a, b)
    assert name != session_name(policy, a, "c" * 60)
    short = session_name("p", a, b)
    assert short == f"p-{a}--{b}"


def test_boundary_253() -> None:
    a, b = "a" * 100, "b" * 100
    policy = "p" * (MAX_NAME - 203)
    assert session_name(policy, a, b) == f"{policy}-{a}--{b}"
    assert len(session_name(policy + "p", a, b)) < MAX_NAME
    assert session_name(policy + "p", a, b) == hashed_session_name(policy + "p", a, b)


def test_hashed_prefix_cut_never_ends_in_dash_or_dot() -> None:
    policy = "x" * 99 + ".y" + "z" * 200
    name = hashed_session_name(policy, "a", "b")
    assert DNS1123.match(name)
    assert len(name) <= MAX_NAME


def test_colliding_readable_names_are_hashed() -> None:
    endpoints = {"a": ON, "b--c": ON, "a--b": ON, "c": ON}
    names = [s.name for s in desired_sessions("p", spec(), endpoints).sessions]
    assert len(names) == len(set(names)) == 6
    assert "p-a--b--c" not in names
    assert all(DNS1123.match(n) and len(n) <= MAX_NAME for n in names)


def test_label_value_limit() -> None:
    assert is_label_value("p" * 63)
    assert not is_label_value("p" * 64)
    assert not is_label_value("a.b-")


def test_drift() -> None:
    plan = SessionPlan(name="n", local_endpoint="a", remote_endpoint="b")
    assert not plan.drifted(
        {"localEndpoint": "a", "remoteEndpoint": "b", "holdTime": 90, "keepaliveTime": 30}
    )
    assert plan.drifted({"localEndpoint": "b", "remoteEndpoint": "a"})
    assert plan.drifted({"localEndpoint": "a", "remoteEndpoint": "b", "holdTime": 60})
    assert plan.drifted(
        {"localEndpoint": "a", "remoteEndpoint": "b", "routeReflector": {"clusterID": "1.1.1.1"}}
    )
    timed = SessionPlan(name="n", local_endpoint="a", remote_endpoint="b", hold_time=60)
    assert timed.drifted({"localEndpoint": "a", "remoteEndpoint": "b", "holdTime": 90})


def test_template_graceful_restart_copied_and_drift_detected() -> None:
    endpoints = {"a": ON, "b": ON}
    gr = desired_sessions(
        "p", spec(mode="mesh", sessionTemplate={"gracefulRestart": {"restartTime": 90}}), endpoints
    )
    (session,) = gr.sessions
    assert session.spec()["gracefulRestart"] == {"restartTime": 90}
    assert not session.drifted(session.spec())
    assert session.drifted({**session.spec(), "gracefulRestart": {"restartTime": 120}})
    assert session.drifted({k: v for k, v in session.spec().items() if k != "gracefulRestart"})
    (plain,) = desired_sessions("p", spec(mode="mesh"), endpoints).sessions
    assert "gracefulRestart" not in plain.spec()
    assert plain.drifted({**plain.spec(), "gracefulRestart": {}})  # default 120 s: on
