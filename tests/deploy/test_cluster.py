"""The shipped deployment on a real one-node cluster (``bgpctl.testing.node``).

``kubectl apply -k manifests/default`` on etcd + kube-apiserver + controller manager +
scheduler + kubelet + containerd + runc, with the image of ``make image`` imported into
containerd. The DaemonSet's pod must become Ready under its own pod-bound service
account token and the node-isolation policy, run non-root with exactly the capabilities
the manifests give, keep gobgpd's API off the network, peer with an FRR router in a
namespace of the test's own and program the route it learns into the node's kernel.

The node is this machine's root network namespace (the pod uses the host network), so
the test adds only addresses and routes of documentation prefixes and removes them.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bgpctl.envtest import ControlPlane
from bgpctl.envtest.binaries import ensure_chainsaw
from bgpctl.testing.frr import FRR, FRRNeighbor, bgpd_config
from bgpctl.testing.hostlan import HostLan
from bgpctl.testing.netns import Lab
from bgpctl.testing.node import Node, image_archives

pytestmark = [pytest.mark.integration, pytest.mark.root, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parents[2]
NODE = "bgp-node"
NODE_ADDRESS, FRR_ADDRESS = "203.0.113.1", "203.0.113.2"
FRR_AS, NODE_AS = 64513, 64512
FRR_PREFIX = "198.51.100.0/24"
CAP_NET_ADMIN, CAP_NET_BIND_SERVICE = 1 << 12, 1 << 10


def _overlay(plane: ControlPlane, directory: Path) -> Path:
    """manifests/default as is, plus where the API server is (this cluster has no
    kube-proxy, so the in-cluster Service address would lead nowhere)."""
    host, port = "127.0.0.1", str(plane.apiserver_port)
    env = [
        {"name": "KUBERNETES_SERVICE_HOST", "value": host},
        {"name": "KUBERNETES_SERVICE_PORT", "value": port},
    ]
    patch = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "bgpctl", "namespace": "bgp-system"},
        "spec": {"template": {"spec": {"containers": [{"name": "agent", "env": env}]}}},
    }
    (directory / "apiserver.yaml").write_text(yaml.safe_dump(patch))
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(REPO / "manifests" / "default", directory)],
        "patches": [{"path": "apiserver.yaml"}],
    }
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    return directory


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ControlPlane, Node]]:
    for archive in image_archives():
        if not archive.is_file():
            pytest.fail(f"{archive} is missing: run `make image` first (README)")
    plane = ControlPlane()
    node: Node | None = None
    try:
        plane.start()
        node = Node(plane, name=NODE)
        node.start()
        overlay = _overlay(plane, tmp_path_factory.mktemp("overlay"))
        # CRDs and the objects of their kinds in one call: the first apply creates the
        # CRDs and reports the example configuration's kind as unknown; the second
        # (documented in docs/deploy.md) creates it.
        first = plane.kubectl("apply", "--server-side", "-k", str(overlay), check=False)
        assert first.returncode == 0 or "ensure CRDs are installed first" in first.stderr, (
            first.stderr
        )
        plane.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
        plane.kubectl("apply", "--server-side", "-k", str(overlay))
        yield plane, node
    finally:
        if node is not None:
            node.stop()
        plane.stop()


def _wait(what: str, check: Callable[[], Any], timeout: float, logs: Callable[[], str]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}\n{logs()}")


def _pod(plane: ControlPlane) -> dict[str, Any] | None:
    out = plane.kubectl(
        "get", "pods", "-n", "bgp-system", "-l", "app.kubernetes.io/name=bgpctl", "-o", "json"
    ).stdout
    items = json.loads(out)["items"]
    return items[0] if items else None


def _ready(plane: ControlPlane) -> dict[str, Any] | None:
    pod = _pod(plane)
    if pod is None:
        return None
    conditions = pod.get("status", {}).get("conditions", [])
    ok = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
    return pod if ok else None


def _status_of(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def _container_pids(node: Node) -> dict[str, int]:
    """The main process of each running container of the pod, by container name."""
    pids: dict[str, int] = {}
    for line in node.ctr("tasks", "ls").splitlines()[1:]:
        task, pid, state = line.split()[:3]
        if state != "RUNNING":
            continue
        info = json.loads(node.ctr("containers", "info", task))
        name = info.get("Labels", {}).get("io.kubernetes.container.name")
        if name in ("agent", "gobgpd"):
            pids[name] = int(pid)
    return pids


def test_the_daemonset_pod_becomes_ready_non_root_with_only_its_capabilities(
    cluster: tuple[ControlPlane, Node],
) -> None:
    plane, node = cluster
    pod = _wait("the DaemonSet pod Ready", lambda: _ready(plane), 180, node.logs)
    assert pod["spec"]["nodeName"] == NODE
    assert pod["spec"]["hostNetwork"] is True
    pids = _container_pids(node)
    assert set(pids) == {"agent", "gobgpd"}
    agent, gobgpd = _status_of(pids["agent"]), _status_of(pids["gobgpd"])
    assert agent["Uid"].split()[0] == "65532" and gobgpd["Uid"].split()[0] == "65532"
    assert int(agent["CapEff"], 16) == CAP_NET_ADMIN
    assert int(agent["CapBnd"], 16) == CAP_NET_ADMIN
    assert int(gobgpd["CapEff"], 16) == CAP_NET_BIND_SERVICE
    # gobgpd's API is a unix socket in the pod's emptyDir: no TCP listener of its own
    # on any address except BGP itself.
    listening = subprocess.run(
        ["ss", "-Htlnp"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    gobgpd_ports = {
        line.split()[3].rsplit(":", 1)[1] for line in listening if f"pid={pids['gobgpd']}," in line
    }
    assert gobgpd_ports <= {"1790"}, listening
    # /metrics on the node's port 9586; the probes' endpoints on 127.0.0.1:9587.
    for url in ("http://127.0.0.1:9586/metrics", "http://127.0.0.1:9587/readyz"):
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.status == 200, url
    log = node.container_log("bgp-system", pod["metadata"]["name"], "agent")
    assert "starting workers" in log, log[-3000:]


def test_the_agent_peers_with_frr_and_programs_the_kernel(
    cluster: tuple[ControlPlane, Node],
) -> None:
    plane, node = cluster
    _wait("the DaemonSet pod Ready", lambda: _ready(plane), 180, node.logs)
    with Lab() as lab:
        ns = lab.netns("frr")
        root_if, frr_if = f"bgpn{lab.run_id[-4:]}", "eth0"
        subprocess.run(
            ["ip", "link", "add", root_if, "type", "veth", "peer", frr_if, "netns", ns.name],
            check=True,
        )
        try:
            subprocess.run(["ip", "addr", "add", f"{NODE_ADDRESS}/30", "dev", root_if], check=True)
            subprocess.run(["ip", "link", "set", root_if, "up"], check=True)
            ns.add_address(frr_if, f"{FRR_ADDRESS}/30")
            ns.ip("link", "set", frr_if, "up")
            config = bgpd_config(
                FRR_AS, FRR_ADDRESS, [FRRNeighbor(NODE_ADDRESS, NODE_AS, 1790)], (FRR_PREFIX,)
            )
            frr = FRR(ns, Path(tempfile.mkdtemp(prefix="bgpt-frr-")), config)
            frr.start()
            try:
                _peer(plane, node, frr)
            finally:
                frr.stop()
                for kind in ("bgpsession/node-frr", "bgpendpoint/frr", f"bgpendpoint/{NODE}"):
                    plane.kubectl("delete", kind, "--ignore-not-found", "--wait=false")
        finally:
            subprocess.run(["ip", "link", "del", root_if], check=False)
    # The session is gone, so the route is withdrawn from the kernel too.
    _wait("the FRR route withdrawn", lambda: not _kernel_route(), 60, node.logs)


def _kernel_route() -> str:
    return subprocess.run(
        ["ip", "-4", "route", "show", FRR_PREFIX, "proto", "196"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def _apply_session(
    plane: ControlPlane,
    node_address: str,
    node_labels: dict[str, str],
    peer: str,
    peer_address: str,
    peer_as: int,
) -> None:
    """The node's endpoint, an external peer on port 179, and session node-<peer>."""
    objects = [
        {"apiVersion": "bgp.miloapis.com/v1alpha1", "kind": "BGPEndpoint",
         "metadata": {"name": NODE, "labels": node_labels},
         "spec": {"address": node_address, "asNumber": NODE_AS}},
        {"apiVersion": "bgp.miloapis.com/v1alpha1", "kind": "BGPEndpoint",
         "metadata": {"name": peer},
         "spec": {"address": peer_address, "asNumber": peer_as, "port": 179}},
        {"apiVersion": "bgp.miloapis.com/v1alpha1", "kind": "BGPSession",
         "metadata": {"name": f"node-{peer}"},
         "spec": {"localEndpoint": NODE, "remoteEndpoint": peer,
                  "holdTime": 9, "keepaliveTime": 3}},
    ]  # fmt: skip
    plane.kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump_all(objects))


def _peer(plane: ControlPlane, node: Node, frr: FRR) -> None:
    _apply_session(plane, NODE_ADDRESS, {}, "frr", FRR_ADDRESS, FRR_AS)

    pod = _pod(plane)
    assert pod is not None

    def logs() -> str:
        agent = node.container_log("bgp-system", pod["metadata"]["name"], "agent")
        return f"{agent[-4000:]}\n{frr.log_tail()}\n{node.logs()}"

    def established() -> bool:
        raw = json.loads(plane.kubectl("get", "bgpsession", "node-frr", "-o", "json").stdout)
        entries = raw.get("status", {}).get("endpoints", [])
        return any(e["endpoint"] == NODE and e.get("state") == "Established" for e in entries)

    _wait("the session Established in its status", established, 120, logs)
    assert frr.established(NODE_ADDRESS)
    route = _wait("the FRR route in the node's kernel", _kernel_route, 60, logs)
    assert f"via {FRR_ADDRESS}" in route
    # The node's own configuration entry was written by the node, through the policy.
    raw = json.loads(plane.kubectl("get", "bgpconfiguration", "default", "-o", "json").stdout)
    entry = {e["node"]: e for e in raw["status"]["nodes"]}[NODE]
    assert entry["ready"] is True and entry["routerID"] == NODE_ADDRESS


LAN_NODE = "2001:db8:11::1/64"
EBGP_AS, CLUSTER_ID = 64514, "198.51.100.250"
SUITES = REPO / "chainsaw"


@pytest.fixture(scope="module")
def lan(cluster: tuple[ControlPlane, Node]) -> Iterator[HostLan]:
    """The node's LAN with three routers of the test's own: ``ebgp`` (AS 64514) and two
    iBGP routers in the node's AS, ``ibgp-a`` and ``ibgp-b``, each announcing a /48."""
    with Lab() as lab, HostLan(lab, LAN_NODE) as lan:
        lan.router(
            "ebgp",
            "2001:db8:11::2",
            asn=EBGP_AS,
            node_asn=NODE_AS,
            router_id="198.51.100.2",
            originate=("2001:db8:eb::/48",),
        )
        lan.router(
            "ibgp-a",
            "2001:db8:11::3",
            asn=NODE_AS,
            node_asn=NODE_AS,
            router_id="198.51.100.3",
            originate=("2001:db8:aa::/48",),
        )
        lan.router("ibgp-b", "2001:db8:11::4", asn=NODE_AS, node_asn=NODE_AS,
                   router_id="198.51.100.4", originate=("2001:db8:bb::/48",))  # fmt: skip
        yield lan


def _gobgpd_target(node: Node, pod: dict[str, Any], directory: Path) -> str:
    """The node's gobgpd API: the unix socket in the pod's emptyDir, seen from the host
    through a symlink in ``directory`` (the socket's own path is longer than the 107
    bytes a unix socket address can hold)."""
    volume = "volumes/kubernetes.io~empty-dir/gobgp-api/api.sock"
    link = directory / "node-gobgpd.sock"
    link.symlink_to(node.workdir / "kubelet" / "pods" / pod["metadata"]["uid"] / volume)
    return f"unix://{link}"


def _chainsaw(
    plane: ControlPlane, suite: str, values: dict[str, Any] | None = None, tmp: Path | None = None
) -> str:
    """Run one chainsaw suite (with ``values``, written to ``tmp``); its output, after
    asserting that it passed."""
    args = []
    if values is not None and tmp is not None:
        (tmp / "values.yaml").write_text(yaml.safe_dump(values))
        args = ["--values", str(tmp / "values.yaml"), "--namespace", "default"]
    proc = subprocess.run(
        [str(ensure_chainsaw()), "test", "--config", str(SUITES / "config.yaml"),
         "--test-dir", str(SUITES / suite), *args, "--no-color"],
        env=plane.env(), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if proc.returncode != 0 or "Failed  tests 0" not in proc.stdout:
        raise AssertionError(f"chainsaw {suite} failed:\n{_failed_steps(proc.stdout)}")
    return proc.stdout


def _failed_steps(out: str) -> str:
    """Each failed operation of a chainsaw run with the lines before it (the command or
    the resource), then the summary: what a failure needs, without the passing steps."""
    lines = out.splitlines()
    keep: set[int] = set()
    for i, line in enumerate(lines):
        if "| ERROR " in line or "=== ERROR" in line:
            keep.update(range(max(0, i - 14), min(len(lines), i + 12)))
    summary = lines[-12:]
    return "\n".join([*(lines[i] for i in sorted(keep)), "...", *summary])


def test_chainsaw_node_scenarios_against_the_daemonset(
    cluster: tuple[ControlPlane, Node], lan: HostLan, tmp_path: Path
) -> None:
    """chainsaw/cluster (system readiness) and chainsaw/nodes (advertisement, route
    policy) with the DaemonSet's agent as the origin.

    The peer whose RIB the scenarios read is the LAN's eBGP router.
    """
    plane, node = cluster
    pod = _wait("the DaemonSet pod Ready", lambda: _ready(plane), 180, node.logs)
    peer = next(r for r in lan.routers if r.name == "ebgp")
    try:
        _apply_session(plane, lan.node_address, {"role": "origin"}, "peer", peer.address, peer.asn)
        _wait(
            "the peer gobgpd Established with the node",
            lambda: peer.established_with(lan.node_address), 120,
            lambda: peer.gobgpd.log_tail() + "\n"
            + node.container_log("bgp-system", pod["metadata"]["name"], "gobgpd")[-3000:],
        )  # fmt: skip
        router_id = json.loads(
            plane.kubectl("get", "bgpconfiguration", "default", "-o", "json").stdout
        )["status"]["nodes"][0]["routerID"]
        values = {"origin": NODE, "peerTarget": peer.gobgpd.target, "nodes": 1,
                  "routerID": router_id}  # fmt: skip
        assert "Passed  tests 1" in _chainsaw(plane, "cluster", values, tmp_path)
        assert "Passed  tests 2" in _chainsaw(plane, "nodes", values, tmp_path)
    finally:
        for kind in ("bgpsession/node-peer", "bgpendpoint/peer", f"bgpendpoint/{NODE}"):
            plane.kubectl("delete", kind, "--ignore-not-found")


def test_chainsaw_peer_scenarios_against_the_daemonset(
    cluster: tuple[ControlPlane, Node], lan: HostLan, tmp_path: Path
) -> None:
    """chainsaw/peers: peering (mesh), session lifecycle, route reflector and eBGP, with
    the DaemonSet's agent and the LAN's routers as the endpoints. Each scenario creates
    (and removes) the node's own endpoint, as the Go original's do."""
    plane, node = cluster
    pod = _wait("the DaemonSet pod Ready", lambda: _ready(plane), 180, node.logs)
    routers = {r.name: r for r in lan.routers}
    values = {
        "origin": NODE, "nodeAddress": lan.node_address, "nodeAS": NODE_AS,
        "nodeTarget": _gobgpd_target(node, pod, tmp_path), "clusterID": CLUSTER_ID,
        "ebgp": routers["ebgp"].address, "ebgpAS": EBGP_AS,
        "ebgpTarget": routers["ebgp"].gobgpd.target,
        "ibgpA": routers["ibgp-a"].address, "ibgpATarget": routers["ibgp-a"].gobgpd.target,
        "ibgpB": routers["ibgp-b"].address, "ibgpBTarget": routers["ibgp-b"].gobgpd.target,
    }  # fmt: skip
    assert "Passed  tests 4" in _chainsaw(plane, "peers", values, tmp_path)


@pytest.mark.parametrize("suite", ["api-admission", "api-defaults"])
def test_chainsaw_api_scenarios_on_the_cluster(
    cluster: tuple[ControlPlane, Node], suite: str
) -> None:
    """The API-only suites on the cluster that runs the DaemonSet (CRDs from -k default)."""
    _chainsaw(cluster[0], suite)
