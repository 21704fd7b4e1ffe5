"""The aggregate-status rules (pure) and the no-op detection of the aggregator."""

from __future__ import annotations

from typing import Any

from bgpctl.controllers.statusaggregate import desired_status
from bgpctl.controllers.statusrules import (
    Context,
    advertisement_status,
    configuration_status,
    route_policy_status,
    session_status,
)


def _session(*entries: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": "s", "generation": 1},
        "spec": {"localEndpoint": "a", "remoteEndpoint": "b"},
        "status": {"endpoints": list(entries)},
    }


def _conds(obj: dict[str, Any], rule: Any, ctx: Context | None = None) -> dict[str, Any]:
    agg = rule(obj, ctx or Context())
    return {c.type: (c.status, c.reason, c.message) for c in agg.conditions}


UP = {"configured": True, "state": "Established", "lastTransitionTime": "T"}


def test_session_both_ends_established() -> None:
    conds = _conds(_session({"endpoint": "a", **UP}, {"endpoint": "b", **UP}), session_status)
    assert conds["Configured"][:2] == ("True", "Configured")
    assert conds["SessionEstablished"] == ("True", "Established", "a since T, b since T")


def test_session_worst_end_decides_and_is_named() -> None:
    down = {"endpoint": "b", "configured": True, "state": "Active", "lastError": "cannot connect"}
    conds = _conds(_session({"endpoint": "a", **UP}, down), session_status)
    assert conds["SessionEstablished"] == ("False", "Active", "b: Active (cannot connect)")


def test_session_gobgp_unavailable_is_unknown() -> None:
    unknown = {
        "endpoint": "a",
        "configured": True,
        "state": "Unknown",
        "reason": "GoBGPUnavailable",
        "message": "gobgpd at x is unreachable",
    }
    conds = _conds(_session(unknown, {"endpoint": "b", **UP}), session_status)
    assert conds["SessionEstablished"] == (
        "Unknown",
        "GoBGPUnavailable",
        "a: gobgpd at x is unreachable",
    )


def test_session_not_configured_end() -> None:
    bad = {"endpoint": "a", "configured": False, "reason": "EndpointNotFound", "message": "gone"}
    conds = _conds(_session(bad), session_status)
    assert conds["Configured"] == ("False", "EndpointNotFound", "a: gone")
    assert conds["SessionEstablished"][:2] == ("False", "EndpointNotFound")


def test_session_without_live_end() -> None:
    conds = _conds(_session(), session_status)
    assert conds["Configured"][:2] == ("False", "NoLocalEnd")
    assert conds["SessionEstablished"][:2] == ("False", "NoLocalEnd")


def test_session_one_external_end() -> None:
    conds = _conds(_session({"endpoint": "a", **UP}), session_status)
    assert conds["SessionEstablished"][:2] == ("True", "Established")
    assert "b has no agent" in conds["Configured"][2]


def _config(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"generation": 2}, "spec": {"asNumber": 65000}, "status": {"nodes": nodes}}


def test_configuration_ready_and_observed_fields() -> None:
    agg = configuration_status(
        _config(
            {"node": "a", "ready": True, "routerID": "1.1.1.1"},
            {"node": "b", "ready": True, "routerID": "1.1.1.1"},
        ),
        Context(),
    )
    assert agg.conditions[0].status == "True"
    assert agg.fields == {"observedASNumber": 65000, "observedRouterID": "1.1.1.1"}
    agg = configuration_status(
        _config(
            {"node": "a", "ready": True, "routerID": "1.1.1.1"},
            {"node": "b", "ready": True, "routerID": "2.2.2.2"},
        ),
        Context(),
    )
    assert agg.fields["observedRouterID"] is None


def test_configuration_not_ready_names_nodes() -> None:
    agg = configuration_status(
        _config(
            {"node": "c", "ready": False, "message": "m3"},
            {"node": "b", "ready": False, "message": "m2"},
            {"node": "a", "ready": True},
            {"node": "d", "ready": False},
        ),
        Context(),
    )
    cond = agg.conditions[0]
    assert (cond.status, cond.reason, cond.message) == (
        "False",
        "NodeNotReady",
        "b: m2 and 2 more nodes",
    )
    assert configuration_status(_config(), Context()).conditions[0].reason == "Pending"


def _advert(*nodes: dict[str, Any], selector: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"prefixes": ["192.0.2.0/24"]}
    if selector is not None:
        spec["nodeSelector"] = selector
    return {"metadata": {"generation": 3}, "spec": spec, "status": {"nodes": list(nodes)}}


def _node(node: str, ok: bool, reason: str, gen: int = 3, n: int = 1, msg: str = "") -> Any:
    return {
        "node": node,
        "advertised": ok,
        "applied": ok,
        "reason": reason,
        "message": msg,
        "observedGeneration": gen,
        "advertisedPrefixes": n,
    }


CTX = Context(endpoints={"a": {"role": "node"}, "b": {"role": "node"}})


def test_advertisement_pending_and_no_node_selected() -> None:
    stale = _node("a", True, "Advertised", gen=2)
    agg = advertisement_status(_advert(stale), CTX)
    assert (agg.conditions[0].status, agg.conditions[0].reason) == ("Unknown", "Pending")
    assert agg.fields == {"observedGeneration": 3}
    agg = advertisement_status(_advert(selector={"matchLabels": {"role": "none"}}), CTX)
    assert (agg.conditions[0].status, agg.conditions[0].reason) == ("False", "NoNodeSelected")


def test_advertisement_precedence_ties_and_more() -> None:
    agg = advertisement_status(
        _advert(
            _node("c", False, "Conflict", msg="prefix taken by other"),
            _node("b", False, "GoBGPError", msg="e1"),
            _node("a", False, "GoBGPError", msg="e0"),
            _node("d", True, "Advertised", n=1),
        ),
        CTX,
    )
    cond = agg.conditions[0]
    assert (cond.status, cond.reason, cond.message) == (
        "False",
        "GoBGPError",
        "a: e0 and 2 more nodes",
    )
    agg = advertisement_status(
        _advert(_node("a", False, "Weird", msg="w"), _node("b", False, "InvalidSpec", msg="i")),
        CTX,
    )
    assert (agg.conditions[0].reason, agg.conditions[0].message) == (
        "InvalidSpec",
        "b: i and 1 more node",
    )


def test_advertisement_all_ok_without_advertised_reason() -> None:
    agg = advertisement_status(
        _advert(
            _node("a", True, "NoMatchingPeers", msg="no peers"),
            _node("b", True, "NoMatchingPeers", msg="no peers"),
        ),
        CTX,
    )
    assert (agg.conditions[0].status, agg.conditions[0].reason) == ("False", "NoMatchingPeers")


def test_advertisement_true_and_count() -> None:
    agg = advertisement_status(
        _advert(_node("a", True, "Advertised", n=2), _node("b", True, "NoMatchingPeers", n=2)),
        CTX,
    )
    assert (agg.conditions[0].status, agg.conditions[0].reason) == ("True", "Advertised")
    assert agg.fields == {"advertisedPrefixCount": 2, "observedGeneration": 3}


def test_route_policy_rules() -> None:
    pol = _advert(_node("a", True, "Applied"), _node("b", False, "NoMatchingPeers", msg="none"))
    conds = _conds(pol, route_policy_status)
    assert conds["Applied"] == ("False", "NoMatchingPeers", "b: none")
    conds = _conds(_advert(_node("a", True, "Applied")), route_policy_status)
    assert conds["Applied"][:2] == ("True", "Applied")
    conds = _conds(_advert(), route_policy_status)
    assert conds["Applied"][:2] == ("Unknown", "Pending")


def test_desired_status_is_none_when_nothing_changed() -> None:
    raw = {
        "apiVersion": "bgp.miloapis.com/v1alpha1",
        "kind": "BGPRoutePolicy",
        **_advert(_node("a", True, "Applied")),
    }
    raw["metadata"]["name"] = "p"
    agg = route_policy_status(raw, Context())
    body = desired_status(raw, agg)
    assert body is not None
    raw["status"].update(body["status"])
    assert desired_status(raw, agg) is None
    raw["metadata"]["generation"] = 4  # a new generation: observedGeneration must follow
    assert desired_status(raw, route_policy_status(raw, Context())) is not None
