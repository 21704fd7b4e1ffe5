"""A gobgpd crash does not blackhole the node: its kernel keeps what GoBGP learned.

Real kube-apiserver, a Debian gobgpd in node A's namespace with a real ``bgp run``
process programming A's kernel, and FRR in its own namespace (eBGP, AS 65002)
announcing prefixes. With ``ip monitor route`` in A's namespace, gobgpd is killed -9 and
started again: A's agent restores it (StartBgp, neighbor), FRR re-sends its table.
The FRR routes stay in A's kernel throughout (no deletion at all), and once everything
is back the kernel is exact: a prefix FRR stopped announcing while gobgpd was down is
removed, at the latest when the stale time (here 20 s) expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from bgpctl.controllers.resources import BGP_CONFIGURATIONS, BGP_ENDPOINTS, BGP_SESSIONS
from bgpctl.envtest import ControlPlane
from bgpctl.gobgp.errors import GoBGPError
from bgpctl.gobgp.types import Path as BGPPath
from bgpctl.runtime.client.errors import NotFound
from bgpctl.runtime.client.kube import KubeClient
from bgpctl.testing import frr as frr_mod
from bgpctl.testing.agent import AgentProcess, RouteMonitor
from bgpctl.testing.frr import FRR
from bgpctl.testing.netns import Lab, remove_stale

from .drill import Node, eventually, gobgp_client, kernel_routes, obj

pytestmark = [pytest.mark.integration, pytest.mark.root]

A6, F6, A4, F4 = "2001:db8:ac::1", "2001:db8:ac::3", "203.0.113.1", "203.0.113.3"
ASN, FRR_ASN, PORT = 65000, 65002, 1790
KEPT = ("2001:db8:f7::/48", "2001:db8:f8::/48", "198.51.100.64/26")
DROPPED = "2001:db8:f9::/48"
STALE_TIME = 20.0
OWN = ipaddress.ip_network("2001:db8:fa::/48")


def _bgpd_conf(prefixes: tuple[str, ...], *, graceful_restart: bool) -> str:
    v6 = [p for p in prefixes if ":" in p]
    v4 = [p for p in prefixes if ":" not in p]
    lines = [
        "hostname frr",
        "!",
        f"router bgp {FRR_ASN}",
        f" bgp router-id {F4}",
        " no bgp ebgp-requires-policy",
        " no bgp network import-check",
        " no bgp default ipv4-unicast",
        *([" bgp graceful-restart"] if graceful_restart else []),
        f" neighbor {A6} remote-as {ASN}",
        f" neighbor {A6} port {PORT}",
        f" neighbor {A6} timers connect 2",
        " !",
        " address-family ipv6 unicast",
        *[f"  network {p}" for p in v6],
        f"  neighbor {A6} activate",
        " exit-address-family",
        " !",
        " address-family ipv4 unicast",
        *[f"  network {p}" for p in v4],
        f"  neighbor {A6} activate",
        " exit-address-family",
        "!",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(autouse=True)
def _requirements() -> None:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 for network namespaces")
    if not Path("/usr/bin/gobgpd").exists() or not frr_mod.available():
        pytest.skip("needs Debian gobgpd and FRR")
    remove_stale()


@pytest.mark.parametrize("graceful_restart", [False, True], ids=["plain", "graceful-restart"])
async def test_gobgpd_kill_keeps_frr_routes(
    control_plane: ControlPlane, tmp_path: Path, graceful_restart: bool
) -> None:
    """Without graceful restart FRR sends no End-of-RIB: the stale time ends the wait.

    With it (session ``gracefulRestart``, FRR ``bgp graceful-restart``), FRR keeps the
    node's own prefix while gobgpd is down, and its End-of-RIB ends the wait at once.
    """
    stale_time = 60.0 if graceful_restart else STALE_TIME
    tag = uuid.uuid4().hex[:6]
    ep_a, ep_f, session = f"gr-a-{tag}", f"gr-frr-{tag}", f"gr-{tag}"
    announced = (*KEPT, DROPPED)
    with Lab() as lab:
        na, nf = lab.netns("gra"), lab.netns("grf")
        daemon = lab.gobgpd(na)
        lab.veth(na, nf, a_addrs=[f"{A6}/64", f"{A4}/24"], b_addrs=[f"{F6}/64", f"{F4}/24"])
        # zebra runs as frr: its directory must be reachable for it (pytest's is 0700).
        frr_dir = Path(tempfile.mkdtemp(prefix="bgpt-frr-"))
        frr = FRR(nf, frr_dir, _bgpd_conf(announced, graceful_restart=graceful_restart))
        frr.start()
        agent = AgentProcess(
            endpoint=ep_a,
            gobgp_target=daemon.target,
            kubeconfig=control_plane.controller_kubeconfig,
            log_path=tmp_path / "agent.log",
            fib_netns=na.name,
            extra=(f"--fib-stale-time={stale_time:g}", "--no-leader-elect"),
        )
        node = Node("a", na, daemon, agent, A6, A4, ())
        monitor = RouteMonitor(na.name, tmp_path / "routes.log")
        async with (
            await KubeClient.from_kubeconfig(control_plane.admin_kubeconfig) as admin,
            gobgp_client(daemon.target) as gobgp,
        ):
            with contextlib.suppress(NotFound):
                await admin.delete(BGP_CONFIGURATIONS, "default")
            await asyncio.sleep(1)
            await admin.create(
                BGP_CONFIGURATIONS,
                obj(BGP_CONFIGURATIONS, "default", {"asNumber": ASN, "listenPort": PORT}),
            )
            await admin.create(
                BGP_ENDPOINTS, obj(BGP_ENDPOINTS, ep_a, {"address": A6, "asNumber": ASN})
            )
            frr_ep = {"address": F6, "asNumber": FRR_ASN, "port": 179}
            await admin.create(BGP_ENDPOINTS, obj(BGP_ENDPOINTS, ep_f, frr_ep))
            spec: dict[str, object] = {"localEndpoint": ep_a, "remoteEndpoint": ep_f}
            spec |= {"holdTime": 9, "keepaliveTime": 3}
            if graceful_restart:
                spec["gracefulRestart"] = {"restartTime": 120}
            await admin.create(BGP_SESSIONS, obj(BGP_SESSIONS, session, spec))
            try:
                agent.start()

                async def all_routes() -> bool:
                    assert agent.running, agent.current_log()[-3000:]
                    return set(announced) <= kernel_routes(node)

                await eventually(all_routes, within=60, what="FRR's routes in A's kernel")
                # A originates a prefix of its own (next hop self towards eBGP).
                await gobgp.add_path(BGPPath(prefix=OWN, next_hops=(ipaddress.ip_address("::"),)))
                await eventually(
                    lambda: _frr_has(frr, OWN), within=20, what="FRR learning A's prefix"
                )
                monitor.start()

                # gobgpd crashes; while it is down FRR stops announcing one prefix.
                daemon.kill()
                frr.vtysh(
                    "configure terminal",
                    f"router bgp {FRR_ASN}",
                    "address-family ipv6 unicast",
                    f"no network {DROPPED}",
                )
                gone_for = 3.0
                frr_kept = []
                for _ in range(int(gone_for)):
                    await asyncio.sleep(1.0)
                    frr_kept.append(await _frr_has(frr, OWN))
                assert set(announced) <= kernel_routes(node), "routes lost while gobgpd is down"
                # FRR, the helper, keeps A's prefix only with graceful restart.
                assert frr_kept == [graceful_restart] * len(frr_kept), frr_kept
                daemon.start()
                loop = asyncio.get_running_loop()
                started = loop.time()

                async def relearned() -> bool:
                    try:
                        peer = await gobgp.get_peer(ipaddress.ip_address(F6))
                    except GoBGPError:
                        return False
                    return peer is not None and peer.state.established

                await eventually(relearned, within=60, what="the FRR session back")
                back = loop.time() - started

                async def exact() -> bool:
                    return kernel_routes(node) == set(KEPT)

                # With End-of-RIB well before the (60 s) stale time; without, at 20 s.
                within = 15.0 if graceful_restart else STALE_TIME + 15
                await eventually(exact, within=within, what="A's kernel exact again")
                exact_after = loop.time() - started
                reasons = [
                    line for line in agent.current_log().splitlines() if "removing stale" in line
                ]
                expected = "End-of-RIB" if graceful_restart else "stale time expired"
                assert len(reasons) == 1 and expected in reasons[0], reasons
                deletions = monitor.deletions()
                assert [d for d in deletions if not d.startswith(f"Deleted {DROPPED}")] == [], (
                    deletions
                )
                assert len(deletions) == 1, deletions  # the dropped prefix, once
                print(
                    f"gobgpd down {gone_for:.0f} s; FRR session back {back:.1f} s after the"
                    f" restart; kernel exact {exact_after:.1f} s after the restart"
                )
            finally:
                monitor.stop()
                with contextlib.suppress(NotFound):
                    await admin.delete(BGP_SESSIONS, session)
                with contextlib.suppress(BaseException):
                    await eventually(
                        lambda: _gone(admin, session), within=15, what="the session deleted"
                    )
                agent.stop()
                frr.stop()
                shutil.rmtree(frr_dir, ignore_errors=True)
                for rt, name in (
                    (BGP_ENDPOINTS, ep_a),
                    (BGP_ENDPOINTS, ep_f),
                    (BGP_CONFIGURATIONS, "default"),
                ):
                    with contextlib.suppress(NotFound):
                        await admin.delete(rt, name)


async def _gone(admin: KubeClient, session: str) -> bool:
    try:
        await admin.get(BGP_SESSIONS, session)
    except NotFound:
        return True
    return False


async def _frr_has(frr: FRR, prefix: ipaddress.IPv6Network) -> bool:
    out = await asyncio.to_thread(frr.vtysh, f"show bgp ipv6 unicast {prefix} json", check=False)
    try:
        return bool(json.loads(out.stdout or "{}").get("paths"))
    except ValueError:
        return False
