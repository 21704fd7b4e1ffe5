"""The lab's topology objects and its progress table (pure functions)."""

from __future__ import annotations

from bgpctl.lab.topology import (
    LAB_LABEL,
    MESH_POLICY,
    all_established,
    format_table,
    session_states,
    topology,
)


def test_endpoints_and_a_mesh_policy_selecting_them() -> None:
    objs = topology({"node-1": "2001:db8:1ab::1", "node-2": "2001:db8:1ab::2", "node-3": "x"})
    kinds = [o["kind"] for o in objs]
    assert kinds == ["BGPConfiguration"] + ["BGPEndpoint"] * 3 + ["BGPPeeringPolicy"]
    assert objs[0]["spec"] == {"asNumber": 64512, "listenPort": 1790}
    assert all(o["metadata"]["labels"] == {LAB_LABEL: "true"} for o in objs[1:4])
    policy = objs[4]
    assert policy["metadata"]["name"] == MESH_POLICY
    assert policy["spec"]["mode"] == "mesh"
    assert policy["spec"]["selector"] == {"matchLabels": {LAB_LABEL: "true"}}


def test_states_and_table() -> None:
    raw = {
        "metadata": {"name": "a--b"},
        "spec": {"localEndpoint": "a", "remoteEndpoint": "b"},
        "status": {"endpoints": [{"endpoint": "b", "state": "Established"}]},
    }
    table = session_states([raw])
    assert table == {"a--b": {"a": "-", "b": "Established"}}
    assert not all_established(table, 1)
    table["a--b"]["a"] = "Established"
    assert all_established(table, 1) and not all_established(table, 2)
    lines = format_table(table).splitlines()
    assert lines[0].split() == ["SESSION", "END", "STATE", "END", "STATE"]
    assert lines[1].split() == ["a--b", "a", "Established", "b", "Established"]
