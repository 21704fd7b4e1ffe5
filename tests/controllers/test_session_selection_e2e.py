"""A session that stops naming a node, on agents that cache only their own sessions.

Agents of the 3-node mesh run with ``cluster_controllers=False`` (``tests.controllers.mesh``):
their caches select sessions by field. When the session ``a-b`` is changed to ``a-c``,
it leaves ``b``'s cache; ``b`` must still remove its neighbor and its finalizer
(one targeted GET tells it the session is no longer its own), and ``c`` takes over.
"""

from __future__ import annotations

import contextlib
import os
import shutil

import pytest

from bgpctl.controllers.peeringpolicy import LEASE_NAME
from bgpctl.controllers.resources import BGP_SESSIONS
from bgpctl.controllers.sessionpeer import description, finalizer
from bgpctl.envtest import ControlPlane
from bgpctl.runtime.client.errors import NotFound
from bgpctl.runtime.client.interfaces import LEASES, PatchType
from bgpctl.testing.netns import remove_stale
from tests.controllers.mesh import Mesh, Node, mesh

pytestmark = [pytest.mark.integration, pytest.mark.root]


@pytest.fixture(autouse=True)
def _root_only() -> None:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 for network namespaces")
    remove_stale()


async def _tagged(node: Node, session: str) -> list[str]:
    return [
        str(p.spec.neighbor_address)
        for p in await node.gobgp.list_peers()
        if p.spec.description == description(session)
    ]


async def _gone(m: Mesh, name: str) -> bool:
    try:
        await m.admin.get(BGP_SESSIONS, name)
    except NotFound:
        return True
    return False


async def test_session_leaving_a_nodes_selection_is_cleaned_up_there(
    control_plane: ControlPlane,
) -> None:
    async with mesh(control_plane, {"a": {}, "b": {}, "c": {}}) as m:
        a, b, c = m.nodes["a"], m.nodes["b"], m.nodes["c"]
        name = m.name("a-b")
        assert await _tagged(b, name) == [a.address]
        # a-c goes first: two sessions between the same pair are a conflict that the
        # older one wins (docs/node-agent.md), and this test is about a-b becoming a-c.
        await m.admin.delete(BGP_SESSIONS, m.name("a-c"))
        await m.wait("a-c deleted", lambda: _gone(m, m.name("a-c")))
        await m.admin.patch(
            BGP_SESSIONS, name, {"spec": {"remoteEndpoint": c.name}}, patch_type=PatchType.MERGE
        )

        async def b_released() -> bool:
            obj = await m.admin.get(BGP_SESSIONS, name)
            return finalizer(b.name) not in (obj["metadata"].get("finalizers") or []) and not (
                await _tagged(b, name)
            )

        await m.wait("b dropped the session", b_released)

        async def c_took_over() -> bool:
            obj = await m.admin.get(BGP_SESSIONS, name)
            return finalizer(c.name) in (obj["metadata"].get("finalizers") or []) and (
                await _tagged(c, name) == [a.address]
            )

        await m.wait("c configured the session", c_took_over)
        assert await _tagged(a, name) == [c.address]
        # Agents without the cluster-wide controllers never campaign for the Lease.
        with contextlib.suppress(NotFound):
            lease = await m.admin.get(LEASES, LEASE_NAME, namespace="bgp-system")
            holder = lease["spec"].get("holderIdentity") or ""
            assert not any(holder.startswith(n.name) for n in m.nodes.values())
