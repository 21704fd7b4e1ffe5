"""Truthful status end to end: real kube-apiserver, three real gobgpd, an FRR peer.

Node agents: A and E in-process, B as a real ``bgp run`` subprocess (its /metrics and
/readyz are scraped over HTTP). All under the controller's RBAC identity, with leader
election (whoever leads runs the status aggregator). Topology (documentation prefixes)::

    B (2001:db8:ab::2) --- A (2001:db8:ab::1, 2001:db8:ac::1, 2001:db8:ae::1) --- E (…ae::5)
                           |
                           C: FRR bgpd, AS 65002, configured to expect AS 65099 for A

A's sessions use its endpoint address (2001:db8:ab::1) as source; C and E route to it.

Sessions: a-b and a-e (healthy, iBGP), a-c (FRR rejects our OPEN: bad peer AS), a-d
(an endpoint at a second address of C, on a port nobody listens on: connection refused), x-y
(two endpoints without agents: no live end).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

import pytest

from bgpctl.controllers.resources import BGP_CONFIGURATIONS, BGP_ENDPOINTS, BGP_SESSIONS
from bgpctl.envtest import ControlPlane
from bgpctl.envtest.process import free_port
from bgpctl.gobgp.client import GoBGPClient
from bgpctl.gobgp.types import Path as BgpPath
from bgpctl.runtime.client.errors import NotFound
from bgpctl.runtime.client.kube import KubeClient
from bgpctl.testing import frr as frr_lib
from bgpctl.testing.frr import FRR
from bgpctl.testing.netns import GoBGPD, Lab, remove_stale
from tests.controllers.harness import eventually, gobgp_client, in_process_agent, obj

pytestmark = [pytest.mark.integration, pytest.mark.root]

A6, B6 = "2001:db8:ab::1", "2001:db8:ab::2"
AC1, C6, D6 = "2001:db8:ac::1", "2001:db8:ac::3", "2001:db8:ac::4"
AE1, E6 = "2001:db8:ae::1", "2001:db8:ae::5"
ASN, FRR_ASN = 65000, 65002
PORT = 1790
PREFIX = "2001:db8:f00::/48"
FRR_CONF = f"""hostname c
router bgp {FRR_ASN}
 bgp router-id 203.0.113.3
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 neighbor {A6} remote-as 65099
 neighbor {A6} port {PORT}
 neighbor {A6} timers connect 2
 neighbor {A6} update-source {C6}
 address-family ipv6 unicast
  neighbor {A6} activate
 exit-address-family
"""


@dataclass
class Topology:
    a: GoBGPD
    b: GoBGPD
    e: GoBGPD
    frr: FRR


@pytest.fixture(scope="module")
def topology() -> Iterator[Topology]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 for network namespaces")
    remove_stale()
    with Lab() as lab:
        na, nb, nc, ne = (lab.netns(n) for n in ("st-a", "st-b", "st-c", "st-e"))
        lab.veth(na, nb, a_addrs=[f"{A6}/64"], b_addrs=[f"{B6}/64"])
        lab.veth(na, nc, a_addrs=[f"{AC1}/64"], b_addrs=[f"{C6}/64", f"{D6}/64"])
        lab.veth(na, ne, a_addrs=[f"{AE1}/64"], b_addrs=[f"{E6}/64"])
        # A speaks from its endpoint address (A6) on every link: C and E route back to it.
        nc.ip("-6", "route", "add", "2001:db8:ab::/64", "via", AC1)
        ne.ip("-6", "route", "add", "2001:db8:ab::/64", "via", AE1)
        a, b, e = lab.gobgpd(na), lab.gobgpd(nb), lab.gobgpd(ne)
        if not frr_lib.available():
            pytest.skip("needs FRR (Debian package frr; .ci/run installs it)")
        # zebra runs as frr: its directory must be reachable for it (the lab's is 0700).
        frr = FRR(nc, Path(tempfile.mkdtemp(prefix="bgpt-frr-")), FRR_CONF)
        frr.start()
        try:
            yield Topology(a, b, e, frr)
        except BaseException:
            print("gobgpd a:\n" + a.log_tail(30) + "\nfrr:\n" + frr.log_tail(30))
            raise
        finally:
            frr.stop()
            shutil.rmtree(frr.workdir, ignore_errors=True)


@contextlib.contextmanager
def bgp_run(plane: ControlPlane, endpoint: str, target: str, port: int) -> Iterator[Path]:
    """``bgp run`` as a subprocess; yields its log file."""
    log = Path(plane.workdir) / f"bgp-run-{endpoint}.log"
    argv = [
        str(Path(sys.executable).with_name("bgp")),
        "run",
        f"--local-endpoint={endpoint}",
        f"--kubeconfig={plane.controller_kubeconfig}",
        f"--gobgp-target={target}",
        f"--metrics-addr=127.0.0.1:{port}",
        "--no-fib",
        "--log-format=json",
    ]
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=out)
    try:
        yield log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except OSError:
        return 0, ""


async def http_get(url: str) -> tuple[int, str]:
    """GET ``url`` off the event loop (the in-process agents share it)."""
    return await asyncio.to_thread(_http_get, url)


def tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:]


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text format."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, _, value = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="([^"]*)"', head))
        if head.split("{")[0] == name and all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return None


async def bgp_status(plane: ControlPlane, *args: str) -> tuple[int, str]:
    """Run ``bgp status`` (admin credentials); return its exit code and output."""
    argv = [
        str(Path(sys.executable).with_name("bgp")),
        "status",
        f"--kubeconfig={plane.admin_kubeconfig}",
        *args,
    ]
    proc = await asyncio.to_thread(
        subprocess.run, argv, capture_output=True, text=True, timeout=60, check=False
    )
    return proc.returncode, proc.stdout + proc.stderr


def entries(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["endpoint"]: e for e in (raw.get("status") or {}).get("endpoints") or []}


def conditions(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (raw.get("status") or {}).get("conditions") or []}


def api_writes(plane: ControlPlane) -> dict[str, float]:
    """kube-apiserver's own write counters (apiserver_request_total) by resource.

    Only what bgpctl writes (its kinds, Events, Leases): the API server's own loopback
    client keeps rewriting the ``kubernetes`` Service's endpoints in this harness.
    """
    text = plane.kubectl("get", "--raw", "/metrics").stdout
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        head, _, value = line.rpartition(" ")
        labels = dict(re.findall(r'(\w+)="([^"]*)"', head))
        ours = labels.get("group") == "bgp.miloapis.com" or labels.get("resource") in {
            "events",
            "leases",
        }
        write = labels.get("verb") in {"POST", "PUT", "PATCH", "DELETE", "APPLY"}
        if ours and write:
            key = labels.get("resource", "") + (
                "/" + labels["subresource"] if labels.get("subresource") else ""
            )
            out[key] = out.get(key, 0.0) + float(value)
    return out


async def test_status_truthful_end_to_end(control_plane: ControlPlane, topology: Topology) -> None:
    tag = uuid.uuid4().hex[:5]
    ep = {n: f"{n}-{tag}" for n in ("a", "b", "c", "d", "e", "x", "y")}
    s_ab, s_ae, s_ac, s_ad, s_xy = (f"{p}-{tag}" for p in ("ab", "ae", "ac", "ad", "xy"))
    metrics_port = free_port()
    base = f"http://127.0.0.1:{metrics_port}"
    async with (
        await KubeClient.from_kubeconfig(control_plane.admin_kubeconfig) as admin,
        gobgp_client(topology.a.target) as gobgp_a,
    ):
        with contextlib.suppress(NotFound):
            await admin.delete(BGP_CONFIGURATIONS, "default")
        await eventually(
            lambda: _gone(admin, BGP_CONFIGURATIONS, "default"), within=10, what="old config"
        )
        await admin.create(
            BGP_CONFIGURATIONS,
            obj(BGP_CONFIGURATIONS, "default", {"asNumber": ASN, "listenPort": PORT}),
        )
        specs = {
            "a": {"address": A6, "asNumber": ASN},
            "b": {"address": B6, "asNumber": ASN},
            "e": {"address": E6, "asNumber": ASN},
            "c": {"address": C6, "asNumber": FRR_ASN, "port": 179},
            "d": {"address": D6, "asNumber": 65003, "port": 1791},
            "x": {"address": "2001:db8:ff::1", "asNumber": 65010},
            "y": {"address": "2001:db8:ff::2", "asNumber": 65011},
        }
        for key, spec in specs.items():
            await admin.create(BGP_ENDPOINTS, obj(BGP_ENDPOINTS, ep[key], spec))
        timers = {"holdTime": 9, "keepaliveTime": 3}
        for name, local, remote in (
            (s_ab, "a", "b"),
            (s_ae, "a", "e"),
            (s_ac, "a", "c"),
            (s_ad, "a", "d"),
            (s_xy, "x", "y"),
        ):
            spec = {"localEndpoint": ep[local], "remoteEndpoint": ep[remote], **timers}
            await admin.create(BGP_SESSIONS, obj(BGP_SESSIONS, name, spec))

        async def session(name: str) -> dict[str, Any]:
            return await admin.get(BGP_SESSIONS, name)

        try:
            async with (
                in_process_agent(control_plane, ep["a"], topology.a.target, fib=False),
                in_process_agent(control_plane, ep["e"], topology.e.target, fib=False),
            ):
                with bgp_run(control_plane, ep["b"], topology.b.target, metrics_port) as b_log:
                    await _scenarios(
                        control_plane,
                        admin,
                        gobgp_a,
                        topology,
                        session,
                        ep,
                        (s_ab, s_ae, s_ac, s_ad, s_xy),
                        base,
                        b_log,
                    )
        finally:
            for name in (s_ab, s_ae, s_ac, s_ad, s_xy):
                with contextlib.suppress(NotFound):
                    await admin.delete(BGP_SESSIONS, name)
            for name in ep.values():
                with contextlib.suppress(NotFound):
                    await admin.delete(BGP_ENDPOINTS, name)
            with contextlib.suppress(NotFound):
                await admin.delete(BGP_CONFIGURATIONS, "default")
            for daemon in (topology.a, topology.b, topology.e):
                if not daemon.running:
                    daemon.start()
            with contextlib.suppress(Exception):
                for peer in await gobgp_a.list_peers():
                    await gobgp_a.delete_peer(peer.spec.neighbor_address)


async def _scenarios(  # noqa: PLR0913, PLR0915 - one topology, many states
    plane: ControlPlane,
    admin: KubeClient,
    gobgp_a: GoBGPClient,
    topology: Topology,
    session: Callable[[str], Awaitable[dict[str, Any]]],
    ep: dict[str, str],
    names: tuple[str, str, str, str, str],
    base: str,
    b_log: Path,
) -> None:
    s_ab, s_ae, s_ac, s_ad, s_xy = names
    a, b = ep["a"], ep["b"]

    # -- established: both ends, conditions, counters ---------------------------------
    async def established(name: str) -> bool:
        raw = await session(name)
        cond = conditions(raw).get("SessionEstablished", {})
        return cond.get("status") == "True"

    await eventually(lambda: established(s_ab), within=60, what=f"{s_ab} established")
    await eventually(lambda: established(s_ae), within=60, what=f"{s_ae} established")
    await gobgp_a.add_path(BgpPath(prefix=ip_network(PREFIX), next_hops=(ip_address(A6),)))

    async def b_received() -> bool:
        e = entries(await session(s_ab))
        return e[b].get("receivedPrefixes") == 1 and e[a].get("advertisedPrefixes", 0) >= 1

    # Counter-only changes are coalesced to one write per 30 s per session.
    await eventually(b_received, within=45, what="prefix counts in the entries")
    raw = await session(s_ab)
    ends = entries(raw)
    for end in (a, b):
        assert ends[end]["state"] == "Established"
        assert ends[end]["reason"] == "Established"
        assert ends[end]["configured"] is True
        assert ends[end]["flapCount"] == 0
        assert ends[end]["lastTransitionTime"]
        assert "lastError" not in ends[end]
    assert ends[b]["acceptedPrefixes"] == 1
    conds = conditions(raw)
    generation = raw["metadata"]["generation"]
    assert conds["Configured"]["status"] == "True"
    assert conds["SessionEstablished"]["reason"] == "Established"
    for cond in conds.values():
        assert cond["observedGeneration"] == generation
    managers = {
        mf["manager"]
        for mf in raw["metadata"]["managedFields"]
        if "f:conditions" in (mf.get("fieldsV1") or {}).get("f:status", {})
    }
    assert managers == {"bgpctl-status"}

    # -- wrong peer AS: FRR sends a NOTIFICATION; the cause shows -------------------------
    async def cause_shows(name: str, words: str) -> bool:
        raw = await session(name)
        cond = conditions(raw).get("SessionEstablished", {})
        return words in (entries(raw).get(a, {}).get("lastError") or "") and words in cond.get(
            "message", ""
        )

    await eventually(lambda: cause_shows(s_ac, "bad peer AS"), within=40, what="bad peer AS")
    raw = await session(s_ac)
    cond = conditions(raw)["SessionEstablished"]
    assert cond["status"] == "False"
    assert cond["reason"] in {"Idle", "Connect", "Active", "OpenSent", "OpenConfirm"}
    assert cond["message"].startswith(f"{a}: ")
    assert "has no agent" in conditions(raw)["Configured"]["message"]

    # -- unreachable peer: connection refused -----------------------------------------------
    await eventually(lambda: cause_shows(s_ad, "cannot connect"), within=40, what="refused")
    assert "port 1791" in conditions(await session(s_ad))["SessionEstablished"]["message"]

    # -- no live end ------------------------------------------------------------------------
    raw = await session(s_xy)
    for type_ in ("Configured", "SessionEstablished"):
        assert conditions(raw)[type_]["status"] == "False"
        assert conditions(raw)[type_]["reason"] == "NoLocalEnd"
    assert "endpoints" not in (raw.get("status") or {})

    # -- configuration aggregate ---------------------------------------------------------------
    config = await admin.get(BGP_CONFIGURATIONS, "default")
    ready = conditions(config)["Ready"]
    assert ready["status"] == "True" and ready["observedGeneration"] == 1
    assert config["status"]["observedASNumber"] == ASN
    assert "observedRouterID" not in config["status"]  # NodeIP: each node its own

    # -- metrics of the `bgp run` subprocess ------------------------------------------------------
    status, text = await http_get(f"{base}/metrics")
    assert status == 200, tail(b_log)
    assert metric(text, "bgp_session_state", session=s_ab, state="Established") == 1.0
    assert metric(text, "bgp_session_state", session=s_ab, state="Active") == 0.0
    assert metric(text, "bgp_session_up", session=s_ab) == 1.0
    assert metric(text, "bgp_received_prefixes_total", session=s_ab) == 1.0
    assert metric(text, "bgp_session_flaps_total", session=s_ab) == 0.0
    assert metric(text, "bgp_session_prefixes_received", session=s_ab, family="ipv6-unicast") == 1.0
    assert metric(text, "bgp_gobgp_connected") == 1.0
    assert "# TYPE controller_runtime_reconcile_timeouts_total counter" in text
    assert (await http_get(f"{base}/readyz"))[0] == 200

    # -- steady: zero API writes for 60 s (Lease renewals aside) -----------------------------------
    # The failing sessions are removed first: each costs up to two writes a minute.
    for name in (s_ac, s_ad, s_xy):
        await admin.delete(BGP_SESSIONS, name)
    for name in (s_ac, s_ad, s_xy):
        await eventually(
            functools.partial(_gone, admin, BGP_SESSIONS, name), within=20, what="deleted"
        )
    await _quiet(session, (s_ab, s_ae))
    before = await asyncio.to_thread(api_writes, plane)
    await asyncio.sleep(60)
    after = await asyncio.to_thread(api_writes, plane)
    delta = {k: after[k] - before.get(k, 0.0) for k in after if after[k] != before.get(k, 0.0)}
    leases = delta.pop("leases", 0.0)
    print(f"steady 60 s: writes {delta}, lease renewals {leases}")
    assert delta == {}, f"API writes in a steady network: {delta}"

    # -- `bgp status`: cluster view (every format) and node view, all up ---------------------------
    for fmt in ("table", "wide", "json", "yaml"):
        code, out = await bgp_status(plane, "-o", fmt)
        assert code == 0, out
        assert s_ab in out and "Established" in out
    code, out = await bgp_status(plane, "-o", "json")
    rows = json.loads(out)["sections"][0]["rows"]
    ab = {r["node"]: r for r in rows if r["session"] == s_ab}
    assert ab[b]["state"] == "Established" and ab[b]["received"] == 1
    assert ab[a]["peerAddress"] == B6 and ab[a]["advertised"] >= 1
    code, out = await bgp_status(plane, "--gobgp", topology.a.target, "-o", "json")
    assert code == 0, out
    peers = {p["address"]: p for p in json.loads(out)["sections"][0]["rows"]}
    assert peers[B6]["state"] == "Established" and peers[B6]["session"] == s_ab

    # -- gobgpd B killed: Unknown within 2 s, /readyz fails, back after ---------------------------
    topology.b.kill()
    killed = time.monotonic()

    async def b_unknown() -> bool:
        e = entries(await session(s_ab)).get(b, {})
        return e.get("state") == "Unknown" and e.get("reason") == "GoBGPUnavailable"

    await eventually(b_unknown, within=2.0, what="B's entry Unknown/GoBGPUnavailable")
    print(f"Unknown after {time.monotonic() - killed:.2f} s")

    async def cond_unknown() -> bool:
        cond = conditions(await session(s_ab)).get("SessionEstablished", {})
        return cond.get("status") == "Unknown" and cond.get("reason") == "GoBGPUnavailable"

    await eventually(cond_unknown, within=10, what="SessionEstablished Unknown")
    assert b in conditions(await session(s_ab))["SessionEstablished"]["message"]
    status, body = await http_get(f"{base}/readyz?verbose")
    assert status == 500 and "[-]gobgp" in body
    assert (await http_get(f"{base}/healthz"))[0] == 200
    _, text = await http_get(f"{base}/metrics")
    assert metric(text, "bgp_gobgp_connected") == 0.0
    assert metric(text, "bgp_session_state", session=s_ab, state="Unknown") == 1.0
    code, out = await bgp_status(plane)
    assert code == 1 and f"session {s_ab}: GoBGPUnavailable" in out, out

    topology.b.start()
    await eventually(lambda: established(s_ab), within=60, what="established after restart")
    assert (await http_get(f"{base}/readyz"))[0] == 200
    _, text = await http_get(f"{base}/metrics")
    assert metric(text, "bgp_gobgp_connected") == 1.0
    assert (metric(text, "bgp_gobgp_reconnects_total") or 0.0) >= 1.0
    lost = plane.kubectl(
        "get", "events", "-n", "default", f"--field-selector=involvedObject.name={s_ab}", "-o=json"
    ).stdout
    lost_messages = [
        e["message"] for e in json.loads(lost)["items"] if e["reason"] == "SessionLost"
    ]
    assert any(m.startswith(f"{a}: session lost: connection lost") for m in lost_messages), (
        lost_messages
    )
    unavailable = plane.kubectl(
        "get", "events", "-n", "default", "--field-selector=reason=GoBGPUnavailable", "-o=name"
    ).stdout
    assert unavailable.strip(), "no GoBGPUnavailable Event"
    events = plane.kubectl(
        "get",
        "events",
        "-n",
        "default",
        "--field-selector",
        "reason=GoBGPReconnected",
        "-o",
        "name",
    ).stdout
    assert events.strip(), "no GoBGPReconnected Event"


async def _quiet(
    session: Callable[[str], Awaitable[dict[str, Any]]], names: tuple[str, ...]
) -> None:
    """Wait until the healthy sessions' entries stop changing (counters written)."""
    last: dict[str, str] = {}
    stable_since = time.monotonic()
    while time.monotonic() - stable_since < 35:
        current = {n: (await session(n))["metadata"]["resourceVersion"] for n in names}
        if current != last:
            last, stable_since = current, time.monotonic()
        await asyncio.sleep(1)


async def _gone(admin: KubeClient, rt: Any, name: str) -> bool:
    try:
        await admin.get(rt, name)
    except NotFound:
        return True
    return False
