"""Route policies end to end on a 3-node mesh (real API server, gobgpd, kernel).

Node ``a`` originates three prefixes. An import policy with a peerSelector (the
originating node) rejects one of them on ``b`` and ``c``; an export policy (every node)
keeps one from leaving ``a``; an update brings a prefix back; deletion removes every
GoBGP object bgpctl created and leaves an operator's own policy attached.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from typing import Any

import pytest

from bgpctl.controllers.resources import BGP_ADVERTISEMENTS, BGP_ROUTE_POLICIES
from bgpctl.envtest import ControlPlane
from bgpctl.gobgp.policy import (
    Actions,
    DefinedType,
    Policy,
    PolicyAssignment,
    PolicyDirection,
    RouteAction,
    Statement,
)
from bgpctl.gobgp.types import Path
from bgpctl.runtime.client.interfaces import PatchType
from bgpctl.testing.netns import remove_stale
from tests.controllers.mesh import Mesh, Node, mesh, obj

pytestmark = [pytest.mark.integration, pytest.mark.root]

X, Y, Z = "2001:db8:b1::/48", "2001:db8:b2::/48", "2001:db8:b3:1::/64"
LABELS = {"a": {"role": "origin"}, "b": {}, "c": {}}
OPERATOR = "operator-own"


@pytest.fixture(autouse=True)
def _root_only() -> None:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 for network namespaces")
    remove_stale()


async def test_import_and_export_policies(control_plane: ControlPlane) -> None:
    async with mesh(control_plane, LABELS) as m:
        a, b, c = m.nodes["a"], m.nodes["b"], m.nodes["c"]
        # An operator's own import policy on b, attached before bgpctl's.
        await b.gobgp.add_policy(Policy(OPERATOR, (Statement(actions=Actions()),)))
        await b.gobgp.set_policy_assignment(
            PolicyAssignment(PolicyDirection.IMPORT, (OPERATOR,), default_action=RouteAction.ACCEPT)
        )
        adv = {"prefixes": [X, Y, Z], "nodeSelector": {"matchLabels": {"role": "origin"}}}
        await m.admin.create(BGP_ADVERTISEMENTS, obj(BGP_ADVERTISEMENTS, m.name("adv"), adv))
        for node in (b, c):
            await m.wait(f"{node.name} has X Y Z", lambda n=node: _has(n, {X, Y, Z}))

        # Import: reject X from the originating node, on every node that peers with it.
        rp_in, rp_out = m.name("rp-in"), m.name("rp-out")
        spec_in = {
            "type": "Import",
            "peerSelector": {"matchLabels": {"role": "origin"}},
            "statements": [{"action": "Reject", "prefixSet": [{"cidr": X}]}],
        }
        await m.admin.create(BGP_ROUTE_POLICIES, obj(BGP_ROUTE_POLICIES, rp_in, spec_in))
        for node in (b, c):
            await m.wait(f"{node.name} rejects X", lambda n=node: _has(n, {Y, Z}, frozenset({X})))
            await m.wait(f"{node.name} kernel", lambda n=node: _kernel(n, {Y, Z}, frozenset({X})))
            entry = await m.wait(
                "applied entry", lambda n=node: _entry(m, rp_in, n.name, "Applied")
            )
            assert entry["applied"] is True and entry["peers"] == 1
        entry = await m.wait("a: no peer", lambda: _entry(m, rp_in, a.name, "NoMatchingPeers"))
        assert entry["applied"] is False
        assignment = await b.gobgp.list_policy_assignments(PolicyDirection.IMPORT)
        ours = [p for p in assignment[0].policies if p.startswith("bgpctl-rp-")]
        assert assignment[0].policies == (*ours, OPERATOR) and len(ours) == 1

        # Export on every node: a keeps Z (inside a /44, exactly /64) to itself.
        spec_out = {
            "type": "Export",
            "statements": [
                {
                    "action": "Reject",
                    "prefixSet": [
                        {"cidr": "2001:db8:b0::/44", "maskLengthMin": 64, "maskLengthMax": 64}
                    ],
                },
                {"action": "Accept"},
            ],
        }
        await m.admin.create(BGP_ROUTE_POLICIES, obj(BGP_ROUTE_POLICIES, rp_out, spec_out))
        for node in (b, c):
            await m.wait(f"{node.name} loses Z", lambda n=node: _has(n, {Y}, frozenset({X, Z})))

        # Update in place: the import policy now rejects Y instead; X comes back.
        patch = {"spec": {"statements": [{"action": "Reject", "prefixSet": [{"cidr": Y}]}]}}
        await m.admin.patch(BGP_ROUTE_POLICIES, rp_in, patch, patch_type=PatchType.MERGE)
        for node in (b, c):
            await m.wait(
                f"{node.name} X back, Y out", lambda n=node: _has(n, {X}, frozenset({Y, Z}))
            )
        entry = await m.wait(
            "generation 2", lambda: _entry(m, rp_in, b.name, "Applied", generation=2)
        )
        assert entry["applied"] is True

        # Delete both: everything is back, nothing of ours is left in GoBGP, the operator's stays.
        await m.admin.delete(BGP_ROUTE_POLICIES, rp_in)
        await m.admin.delete(BGP_ROUTE_POLICIES, rp_out)
        for node in (b, c):
            await m.wait(f"{node.name} has X Y Z again", lambda n=node: _has(n, {X, Y, Z}))
        for node in (a, b, c):
            await m.wait(f"{node.name} has no bgpctl-rp objects", lambda n=node: _clean(n))
        assignment = await b.gobgp.list_policy_assignments(PolicyDirection.IMPORT)
        assert assignment[0].policies == (OPERATOR,)


async def _has(
    node: Node, present: set[str], absent: frozenset[str] = frozenset()
) -> dict[str, Path] | None:
    rib = await node.rib()
    return rib if present <= rib.keys() and not (absent & rib.keys()) else None


async def _kernel(node: Node, present: set[str], absent: frozenset[str] = frozenset()) -> bool:
    routes = await asyncio.to_thread(node.routes)
    return present <= routes.keys() and not (absent & routes.keys())


async def _entry(
    m: Mesh, name: str, node: str, reason: str, *, generation: int = 1
) -> dict[str, Any] | None:
    entry = await m.node_entry(BGP_ROUTE_POLICIES, name, node)
    if entry and entry["reason"] == reason and entry["observedGeneration"] == generation:
        return entry
    return None


async def _clean(node: Node) -> bool:
    policies = [p.name for p in await node.gobgp.list_policies() if p.name.startswith("bgpctl-rp-")]
    sets = [
        s.name
        for t in (DefinedType.PREFIX, DefinedType.NEIGHBOR)
        for s in await node.gobgp.list_defined_sets(t)
        if s.name.startswith("bgpctl-rp-")
    ]
    statements = [
        s.name for s in await node.gobgp.list_statements() if s.name.startswith("bgpctl-rp-")
    ]
    return not policies and not sets and not statements
