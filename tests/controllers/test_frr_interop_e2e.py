"""Interop with FRR: an advertisement reaches an FRR peer with its communities, and an
import policy rejects one of FRR's prefixes on the node (RIB and kernel).

One bgpctl node (agent + gobgpd) and one FRR router (eBGP, AS 65010) on the same bridge,
the FRR router declared as a BGPEndpoint with a label the policy selects.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from bgpctl.controllers.resources import (
    BGP_ADVERTISEMENTS,
    BGP_ENDPOINTS,
    BGP_ROUTE_POLICIES,
    BGP_SESSIONS,
)
from bgpctl.envtest import ControlPlane
from bgpctl.testing import frr as frr_lib
from bgpctl.testing.frr import FRR, FRRNeighbor, bgpd_config
from bgpctl.testing.netns import remove_stale
from tests.controllers.mesh import mesh, obj

pytestmark = [pytest.mark.integration, pytest.mark.root]

FRR_ADDRESS, FRR_AS = "2001:db8:ad::99", 65010
ADVERTISED = "2001:db8:a5::/48"
KEEP, DROP = "2001:db8:f1::/48", "2001:db8:f2::/48"


@pytest.fixture(autouse=True)
def _root_only() -> None:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 for network namespaces")
    if not frr_lib.available():
        pytest.skip("needs FRR (Debian package frr; .ci/run installs it)")
    remove_stale()


async def test_frr_receives_communities_and_import_policy_filters_it(
    control_plane: ControlPlane,
) -> None:
    async with mesh(control_plane, {"a": {}}) as m:
        a = m.nodes["a"]
        ns = m.attach("frr", FRR_ADDRESS)
        config = bgpd_config(
            FRR_AS, "192.0.2.99", [FRRNeighbor(a.address, 65000, 1790)], (KEEP, DROP)
        )
        frr = FRR(ns, Path(tempfile.mkdtemp(prefix="bgpt-frr-")), config)
        await asyncio.to_thread(frr.start)
        try:
            ep = m.name("frr")
            spec = {"address": FRR_ADDRESS, "asNumber": FRR_AS, "port": 179}
            await m.admin.create(BGP_ENDPOINTS, obj(BGP_ENDPOINTS, ep, spec, {"vendor": "frr"}))
            session = {
                "localEndpoint": a.name,
                "remoteEndpoint": ep,
                "holdTime": 9,
                "keepaliveTime": 3,
            }
            await m.admin.create(BGP_SESSIONS, obj(BGP_SESSIONS, m.name("a-frr"), session))
            await m.wait("FRR Established", lambda: frr.established(a.address), within=60)
            await m.wait("a learned both FRR prefixes", lambda: _rib_has(a, {KEEP, DROP}))

            adv = {
                "prefixes": [ADVERTISED],
                "communities": ["65000:100", "no-export"],
                "largeCommunities": ["65000:7:8"],
            }
            await m.admin.create(BGP_ADVERTISEMENTS, obj(BGP_ADVERTISEMENTS, m.name("adv"), adv))
            route = await m.wait("FRR has the advertisement", lambda: frr.route(ADVERTISED))
            path = route["paths"][0]
            assert path["community"]["list"] == ["65000:100", "noExport"]
            assert path["largeCommunity"]["list"] == ["65000:7:8"]
            assert path["aspath"]["string"] == "65000"
            assert path["valid"] is True

            policy = {
                "type": "Import",
                "peerSelector": {"matchLabels": {"vendor": "frr"}},
                "statements": [{"action": "Reject", "prefixSet": [{"cidr": DROP}]}],
            }
            await m.admin.create(
                BGP_ROUTE_POLICIES, obj(BGP_ROUTE_POLICIES, m.name("no-f2"), policy)
            )
            await m.wait("a rejects FRR's DROP prefix", lambda: _rib_has(a, {KEEP}, absent={DROP}))
            await m.wait("a's kernel too", lambda: _kernel_has(a, {KEEP}, absent={DROP}))
        finally:
            frr.stop()
            shutil.rmtree(frr.workdir, ignore_errors=True)


async def _rib_has(node: Any, present: set[str], absent: set[str] | None = None) -> bool:
    rib = await node.rib()
    return present <= rib.keys() and not ((absent or set()) & rib.keys())


async def _kernel_has(node: Any, present: set[str], absent: set[str] | None = None) -> bool:
    routes = await asyncio.to_thread(node.routes)
    return present <= routes.keys() and not ((absent or set()) & routes.keys())
