"""The lab's topology objects and its progress table (pure functions)."""

from __future__ import annotations

from bgpctl.lab.topology import LAB_LABEL, all_established, format_table, session_states, topology


def test_full_mesh_of_three() -> None:
    objs = topology({"node-1": "2001:db8:1ab::1", "node-2": "2001:db8:1ab::2", "node-3": "x"})
    kinds = [o["kind"] for o in objs]
    assert kinds == ["BGPConfiguration"] + ["BGPEndpoint"] * 3 + ["BGPSession"] * 3
    assert objs[0]["spec"] == {"asNumber": 64512, "listenPort": 1790}
    assert all(o["metadata"]["labels"] == {LAB_LABEL: "true"} for o in objs[1:])
    pairs = {(o["spec"]["localEndpoint"], o["spec"]["remoteEndpoint"]) for o in objs[4:]}
    assert pairs == {("node-1", "node-2"), ("node-1", "node-3"), ("node-2", "node-3")}


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
