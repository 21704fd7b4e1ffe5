"""Advertisements end to end on a 3-node mesh (real API server, gobgpd, kernel).

Node ``a`` originates; ``b`` is a selected peer, ``c`` an unselected one. Checked on the
other nodes' GoBGP RIBs and kernels: attributes (communities, large communities,
LOCAL_PREF, MED, next hop), IPv4 over IPv6 endpoints (RFC 5549 next hop), exact
withdrawal of removed prefixes, peerSelector restriction (``c`` never sees the
restricted prefix, watched on its best-path stream for the whole test), relabelling,
conflicts, a foreign local path left alone, restore after gobgpd kill -9, deletion.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from contextlib import aclosing
from ipaddress import ip_address, ip_network
from typing import Any

import pytest

from bgpctl.controllers.resources import BGP_ADVERTISEMENTS, BGP_ENDPOINTS
from bgpctl.envtest import ControlPlane
from bgpctl.gobgp.types import BestPathEvent, Path
from bgpctl.metrics.registry import REGISTRY
from bgpctl.runtime.client.interfaces import PatchType, ResourceType
from bgpctl.testing.netns import remove_stale
from tests.controllers.mesh import Mesh, Node, mesh, obj

pytestmark = [pytest.mark.integration, pytest.mark.root]

V6, V4, V4_NEW = "2001:db8:a1::/48", "203.0.113.0/25", "198.51.100.0/24"
RESTRICTED = "2001:db8:a2::/48"
FOREIGN = "2001:db8:f0::/48"
EVENTS = ResourceType(group="", version="v1", plural="events", kind="Event", namespaced=True)
LABELS = {"a": {"role": "origin"}, "b": {"peer": "yes"}, "c": {"peer": "no"}}


@pytest.fixture(autouse=True)
def _root_only() -> None:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 for network namespaces")
    remove_stale()


async def watch_for(m: Mesh, node: str, prefix: str, seen: list[Path]) -> None:
    """Record every best path for ``prefix`` that ``node`` ever receives."""
    async with aclosing(m.nodes[node].gobgp.watch_best_paths()) as stream:
        async for item in stream:
            if isinstance(item, BestPathEvent):
                seen.extend(p for p in item.paths if str(p.prefix) == prefix and not p.is_withdraw)


async def test_advertisements_reach_peers_filtered_and_restored(
    control_plane: ControlPlane,
) -> None:
    async with mesh(control_plane, LABELS) as m:
        a, b, c = m.nodes["a"], m.nodes["b"], m.nodes["c"]
        leaked: list[Path] = []
        watcher = asyncio.create_task(watch_for(m, "c", RESTRICTED, leaked))
        # A path added by hand on a (no bgpctl tag) must survive everything below.
        await a.gobgp.add_path(Path(prefix=ip_network(FOREIGN), next_hops=(ip_address(a.address),)))
        try:
            await _phases(m, a.name, leaked)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        assert leaked == [], f"restricted prefix reached the unselected peer: {leaked}"
        assert FOREIGN in await b.rib()
        del c


async def _phases(m: Mesh, origin: str, leaked: list[Path]) -> None:
    a, b, c = m.nodes["a"], m.nodes["b"], m.nodes["c"]
    adv1, adv2, adv3 = m.name("adv1"), m.name("adv2"), m.name("adv3")
    spec = {
        "prefixes": [V6, V4],
        "nodeSelector": {"matchLabels": {"role": "origin"}},
        "communities": ["65000:100", "no-export"],
        "largeCommunities": ["65000:1:2"],
        "localPref": 200,
        "med": 50,
    }
    await m.admin.create(BGP_ADVERTISEMENTS, obj(BGP_ADVERTISEMENTS, adv1, spec))

    # 1. Both prefixes reach b and c with every attribute; next hop is a's address.
    for node in (b, c):
        rib = await m.wait(f"{node.name} has both prefixes", lambda n=node: _has(n, {V6, V4}))
        for prefix in (V6, V4):
            path = rib[prefix]
            assert path.communities == ((65000, 100), (0xFFFF, 0xFF01))
            assert path.large_communities == ((65000, 1, 2),)
            assert path.local_pref == 200 and path.med == 50
            assert path.next_hops[0] == ip_address(a.address)
            assert path.identifier == 0, "bgpctl's path tag is not sent without ADD-PATH"
        # Kernel: the IPv4 prefix goes via a's IPv6 address (RFC 5549).
        routes = await m.wait(f"{node.name} kernel routes", lambda n=node: _kernel(n, {V6, V4}))
        assert routes[V6] == a.address and routes[V4] == a.address
    entry = await m.wait("a's status entry", lambda: _entry(m, adv1, origin, "Advertised"))
    assert entry["advertised"] is True and entry["advertisedPrefixes"] == 2
    assert entry["observedGeneration"] == 1
    entries = (await m.status(BGP_ADVERTISEMENTS, adv1)).get("nodes") or []
    assert [e["node"] for e in entries] == [origin], "only the selected node reports"
    # The agents run in this process: the origin's gauge is the only series for adv1.
    assert REGISTRY.get_sample_value("bgp_advertised_prefixes_total", {"advertisement": adv1}) == 2

    # 2. Updating the list withdraws exactly the removed prefix and adds the new one.
    patch = {"spec": {"prefixes": [V6, V4_NEW]}}
    await m.admin.patch(BGP_ADVERTISEMENTS, adv1, patch, patch_type=PatchType.MERGE)
    await m.wait("b has the new list", lambda: _has(b, {V6, V4_NEW}, absent=frozenset({V4})))
    await m.wait("b's kernel follows", lambda: _kernel(b, {V6, V4_NEW}, absent=frozenset({V4})))

    # 3. peerSelector: b (peer=yes) receives the restricted prefix, c never does.
    restricted = {
        "prefixes": [RESTRICTED],
        "peerSelector": {"matchLabels": {"peer": "yes"}},
        "nodeSelector": {"matchLabels": {"role": "origin"}},
    }
    await m.admin.create(BGP_ADVERTISEMENTS, obj(BGP_ADVERTISEMENTS, adv2, restricted))
    await m.wait("b has the restricted prefix", lambda: _has(b, {RESTRICTED}))
    await asyncio.sleep(2)
    assert RESTRICTED not in await c.rib()
    assert leaked == []
    # Relabel c into the selection: it receives the prefix; out again: it loses it.
    await m.admin.patch(
        BGP_ENDPOINTS, c.name, {"metadata": {"labels": {"peer": "yes"}}}, patch_type=PatchType.MERGE
    )
    await m.wait("c receives it once selected", lambda: _has(c, {RESTRICTED}))
    await m.admin.patch(
        BGP_ENDPOINTS, c.name, {"metadata": {"labels": {"peer": "no"}}}, patch_type=PatchType.MERGE
    )
    await m.wait(
        "c loses it once unselected", lambda: _has(c, set(), absent=frozenset({RESTRICTED}))
    )
    await m.wait("b still has it", lambda: _has(b, {RESTRICTED}))
    leaked.clear()  # c was selected in between: only what follows must not leak

    # 4. A newer advertisement of the same prefix with other attributes loses.
    other = {
        "prefixes": [V6],
        "communities": ["65000:999"],
        "nodeSelector": {"matchLabels": {"role": "origin"}},
    }
    await m.admin.create(BGP_ADVERTISEMENTS, obj(BGP_ADVERTISEMENTS, adv3, other))
    entry = await m.wait("adv3 reports the conflict", lambda: _entry(m, adv3, origin, "Conflict"))
    assert adv1 in entry["message"] and entry["advertised"] is False
    events = await m.wait("a Conflict event", lambda: _events(m, adv3, "Conflict"))
    assert origin in events[0]["message"] and adv1 in events[0]["message"]
    for node in ("b", "c"):
        others = await m.wait(
            f"{node} entry of adv3 (not selected: none)",
            lambda n=node: _no_entry(m, adv3, m.nodes[n].name),
        )
        assert others
    assert (await b.rib())[V6].communities == ((65000, 100), (0xFFFF, 0xFF01))

    # 5. gobgpd on a killed and restarted: the declared state comes back, restriction too.
    await asyncio.to_thread(a.daemon.restart)
    await m.wait("b relearns a's prefixes", lambda: _has(b, {V6, V4_NEW, RESTRICTED}), within=60)
    await asyncio.sleep(1)
    assert RESTRICTED not in await c.rib()
    # The hand-added path died with gobgpd; put it back for the last check.
    await a.gobgp.add_path(Path(prefix=ip_network(FOREIGN), next_hops=(ip_address(a.address),)))

    # 6. Deleting withdraws everything it declared; foreign paths stay.
    for name in (adv1, adv2, adv3):
        await m.admin.delete(BGP_ADVERTISEMENTS, name)
    await m.wait(
        "b lost them all", lambda: _has(b, {FOREIGN}, absent=frozenset({V6, V4_NEW, RESTRICTED}))
    )
    await m.wait(
        "b's kernel too", lambda: _kernel(b, set(), absent=frozenset({V6, V4_NEW, RESTRICTED}))
    )
    gone = {"advertisement": adv1}
    await m.wait(
        "adv1's gauge gone",
        lambda: REGISTRY.get_sample_value("bgp_advertised_prefixes_total", gone) is None,
    )


async def _has(
    node: Node, present: set[str], absent: frozenset[str] = frozenset()
) -> dict[str, Path] | None:
    rib = await node.rib()
    if present <= rib.keys() and not (absent & rib.keys()):
        return rib
    return None


async def _kernel(
    node: Node, present: set[str], absent: frozenset[str] = frozenset()
) -> dict[str, str] | None:
    routes = await asyncio.to_thread(node.routes)
    if present <= routes.keys() and not (absent & routes.keys()):
        return routes or {"": ""}
    return None


async def _entry(m: Mesh, name: str, node: str, reason: str) -> dict[str, Any] | None:
    entry = await m.node_entry(BGP_ADVERTISEMENTS, name, node)
    return entry if entry and entry["reason"] == reason else None


async def _events(m: Mesh, name: str, reason: str) -> list[dict[str, Any]]:
    listed = await m.admin.list(EVENTS, namespace="default")
    return [
        e
        for e in listed.items
        if e["involvedObject"].get("name") == name and e.get("reason") == reason
    ]


async def _no_entry(m: Mesh, name: str, node: str) -> bool:
    return await m.node_entry(BGP_ADVERTISEMENTS, name, node) is None
