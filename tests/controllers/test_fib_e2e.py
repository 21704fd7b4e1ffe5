"""FIB sync in ``bgp run``: best paths of a real session reach the peer's kernel table.

Same setup as test_node_agent_e2e.py (a real kube-apiserver, two gobgpd in namespaces
joined by a veth, two in-process agents under the RBAC-restricted controller identity),
with agent B's FIB sync on and pointed at B's namespace (``fib_netns``). Prefixes are
injected into gobgpd A directly; they must appear in B's kernel with protocol 196 and
vanish on withdraw, while an excluded prefix and a foreign (static) route are left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from ipaddress import ip_address, ip_network

import pytest

from bgpctl.controllers.resources import BGP_CONFIGURATIONS, BGP_ENDPOINTS, BGP_SESSIONS
from bgpctl.envtest import ControlPlane
from bgpctl.gobgp.types import Path
from bgpctl.metrics.registry import REGISTRY
from bgpctl.runtime.client.errors import NotFound
from bgpctl.runtime.client.kube import KubeClient
from bgpctl.testing.netns import Lab, Netns, remove_stale
from tests.controllers.harness import gobgp_client, in_process_agent, obj

pytestmark = [pytest.mark.integration, pytest.mark.root]

A6, B6 = "2001:db8:ab::1", "2001:db8:ab::2"
A4, B4 = "198.51.100.1", "198.51.100.2"
V6_PREFIX, V4_PREFIX = "2001:db8:f00::/48", "203.0.113.128/25"
EXCLUDED, EXCLUDED_PREFIX = "2001:db8:e00::/40", "2001:db8:e00:1::/64"
FOREIGN = "2001:db8:cc::/48"
ASN = 65000
PROTOCOL = 196


@pytest.fixture(autouse=True)
def _root_only() -> None:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 for network namespaces")
    remove_stale()


def routes(ns: Netns, protocol: str = str(PROTOCOL)) -> set[str]:
    """Destinations of ``protocol`` in the namespace's main table, both families."""
    found: set[str] = set()
    for family in ("-4", "-6"):
        out = ns.ip("-j", family, "route", "show", "proto", protocol).stdout
        found.update(entry["dst"] for entry in json.loads(out or "[]"))
    return found


async def wait_routes(ns: Netns, expected: set[str], *, within: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    # The kernel table is external state: poll it.
    while (current := await asyncio.to_thread(routes, ns)) != expected:  # noqa: ASYNC110
        if loop.time() > deadline:
            pytest.fail(f"routes of proto {PROTOCOL} are {current}, expected {expected}")
        await asyncio.sleep(0.1)


def paths(*, withdraw: bool = False) -> list[Path]:
    return [
        Path(prefix=ip_network(V6_PREFIX), next_hops=(ip_address(A6),), is_withdraw=withdraw),
        Path(prefix=ip_network(EXCLUDED_PREFIX), next_hops=(ip_address(A6),), is_withdraw=withdraw),
        Path(prefix=ip_network(V4_PREFIX), next_hops=(ip_address(A4),), is_withdraw=withdraw),
    ]


async def test_best_paths_programmed_into_the_peer_namespace(control_plane: ControlPlane) -> None:
    tag = uuid.uuid4().hex[:6]
    ep_a, ep_b, session = f"fib-a-{tag}", f"fib-b-{tag}", f"fib-a-b-{tag}"
    with Lab() as lab:
        na, nb = lab.netns("fib-a"), lab.netns("fib-b")
        lab.veth(na, nb, a_addrs=[f"{A6}/64", f"{A4}/24"], b_addrs=[f"{B6}/64", f"{B4}/24"])
        gobgpd_a, gobgpd_b = await asyncio.gather(
            asyncio.to_thread(lab.gobgpd, na), asyncio.to_thread(lab.gobgpd, nb)
        )
        nb.ip("-6", "route", "add", FOREIGN, "via", A6, "proto", "static")
        async with (
            await KubeClient.from_kubeconfig(control_plane.admin_kubeconfig) as admin,
            gobgp_client(gobgpd_a.target) as gobgp_a,
        ):
            with contextlib.suppress(NotFound):
                await admin.delete(BGP_CONFIGURATIONS, "default")
            while True:
                try:
                    await admin.get(BGP_CONFIGURATIONS, "default")
                except NotFound:
                    break
                await asyncio.sleep(0.1)
            await admin.create(
                BGP_CONFIGURATIONS, obj(BGP_CONFIGURATIONS, "default", {"asNumber": ASN})
            )
            for name, address in ((ep_a, A6), (ep_b, B6)):
                spec = {"address": address, "asNumber": ASN}
                await admin.create(BGP_ENDPOINTS, obj(BGP_ENDPOINTS, name, spec))
            try:
                async with (
                    in_process_agent(
                        control_plane, ep_a, gobgpd_a.target, fib=False, leader_elect=False
                    ) as task_a,
                    in_process_agent(
                        control_plane,
                        ep_b,
                        gobgpd_b.target,
                        fib_netns=nb.name,
                        fib_exclude=(EXCLUDED,),
                        leader_elect=False,
                    ) as task_b,
                ):
                    spec = {
                        "localEndpoint": ep_a,
                        "remoteEndpoint": ep_b,
                        "holdTime": 9,
                        "keepaliveTime": 3,
                    }
                    await admin.create(BGP_SESSIONS, obj(BGP_SESSIONS, session, spec))
                    async with asyncio.timeout(40):
                        while True:
                            assert not task_a.done() and not task_b.done(), "an agent exited"
                            with contextlib.suppress(Exception):
                                peer = await gobgp_a.get_peer(ip_address(B6))
                                if peer is not None and peer.state.established:
                                    break
                            await asyncio.sleep(0.2)

                    for path in paths():
                        await gobgp_a.add_path(path)
                    await wait_routes(nb, {V6_PREFIX, V4_PREFIX})
                    shown6 = nb.ip("-6", "route", "show", "proto", str(PROTOCOL)).stdout
                    assert f"{V6_PREFIX} via {A6}" in shown6
                    shown4 = nb.ip("-4", "route", "show", "proto", str(PROTOCOL)).stdout
                    assert f"{V4_PREFIX} via {A4}" in shown4
                    # The FIB metrics (only B's agent runs a FIB sync in this process).
                    assert REGISTRY.get_sample_value("bgp_fib_routes", {"state": "installed"}) == 2
                    assert (
                        REGISTRY.get_sample_value("bgp_fib_sync_duration_seconds_count") or 0
                    ) > 0
                    assert REGISTRY.get_sample_value("bgp_fib_errors_total") == 0
                    # `bgp status`'s node view counts them too.
                    proc = await asyncio.to_thread(
                        subprocess.run,
                        [
                            os.path.join(os.path.dirname(sys.executable), "bgp"),
                            "status",
                            f"--gobgp={gobgpd_b.target}",
                            f"--fib-protocol={PROTOCOL}",
                            f"--fib-netns={nb.name}",
                            "-o",
                            "json",
                        ],
                        capture_output=True,
                        text=True,
                        check=False,
                    )
                    node_view = json.loads(proc.stdout)
                    fib_section = node_view["sections"][-1]
                    assert fib_section["rows"] == [{"protocol": PROTOCOL, "routes": 2}]
                    assert proc.returncode == 0, proc.stdout

                    for path in paths():
                        await gobgp_a.delete_path(path)
                    await wait_routes(nb, set())
                    assert not task_a.done() and not task_b.done()

                    # Both agents remove their finalizers while they still run.
                    await admin.delete(BGP_SESSIONS, session)
                    async with asyncio.timeout(15):
                        while True:
                            try:
                                await admin.get(BGP_SESSIONS, session)
                            except NotFound:
                                break
                            await asyncio.sleep(0.2)
            finally:
                with contextlib.suppress(NotFound):
                    await admin.delete(BGP_SESSIONS, session)
                for name in (ep_a, ep_b):
                    with contextlib.suppress(NotFound):
                        await admin.delete(BGP_ENDPOINTS, name)
                with contextlib.suppress(NotFound):
                    await admin.delete(BGP_CONFIGURATIONS, "default")
        # The agent stopped: the foreign route is untouched, nothing of ours is left.
        assert routes(nb, "static") == {FOREIGN}
        assert routes(nb) == set()
