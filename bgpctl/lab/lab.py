"""``LocalLab``: control plane + node namespaces + gobgpd + ``bgp run``, torn down as one.

Layout of the work directory::

    <workdir>/controlplane/         etcd, kube-apiserver, kubeconfigs, component logs
    <workdir>/node-<i>/gobgpd.sock  gobgpd's API (the filesystem is not namespaced)
    <workdir>/node-<i>/gobgpd.log
    <workdir>/node-<i>/bgp-run.log
    <workdir>/topology.yaml         what was applied

Namespaces: ``bgplab-hub`` holds a bridge; ``bgplab-node-<i>`` has ``eth0`` on it with
2001:db8:1ab::<i>/64 and 192.0.2.<i>/24. gobgpd runs inside the node namespace; ``bgp
run`` runs in the root namespace, because the API server listens on the root
namespace's loopback, which a process inside a node namespace cannot reach. It needs
gobgpd's unix socket and the API server, and programs the kernel routes of its node's
namespace with ``--fib-netns`` (never the root namespace's).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bgpctl.envtest import ControlPlane
from bgpctl.envtest.process import stop, tail
from bgpctl.lab import netns
from bgpctl.lab.supervise import Supervisor, forget_running, record_running
from bgpctl.lab.topology import (
    MESH_POLICY,
    POLICY_LABEL,
    all_established,
    session_states,
    topology,
)

REPO_MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
GOBGPD = Path("/usr/bin/gobgpd")
HUB = f"{netns.PREFIX}hub"


@dataclass
class NodeSpec:
    """One lab node and its processes."""

    index: int
    workdir: Path
    gobgpd: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    agent: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        """The node's (and its BGPEndpoint's) name: ``node-<i>``."""
        return f"node-{self.index}"

    @property
    def namespace(self) -> str:
        """Its network namespace: ``bgplab-node-<i>``."""
        return f"{netns.PREFIX}{self.name}"

    @property
    def ipv6(self) -> str:
        """Its IPv6 address (the BGPEndpoint's address)."""
        return f"2001:db8:1ab::{self.index}"

    @property
    def ipv4(self) -> str:
        """Its IPv4 address (configured on the interface, not used for peering)."""
        return f"192.0.2.{self.index}"

    @property
    def socket_path(self) -> Path:
        """The unix API socket of gobgpd."""
        return self.workdir / "gobgpd.sock"

    @property
    def target(self) -> str:
        """The gRPC target of gobgpd, usable from any namespace."""
        return f"unix://{self.socket_path}"


class LocalLab:
    """The whole lab. ``up()`` builds it; ``down()`` removes everything, always safe."""

    def __init__(
        self,
        *,
        nodes: int = 3,
        workdir: Path | None = None,
        gobgpd: Path = GOBGPD,
        out: Callable[[str], None] = print,
    ) -> None:
        """Describe a lab of ``nodes`` nodes (1..250).

        Args:
            nodes: Number of nodes.
            workdir: Keep everything here (kept after ``down``); default a temp dir.
            gobgpd: The gobgpd binary.
            out: Where progress lines go.
        """
        if not 1 <= nodes <= 250:
            raise ValueError("nodes must be between 1 and 250")
        self.keep = workdir is not None
        self.workdir = (workdir or Path(tempfile.mkdtemp(prefix="bgplab-"))).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.gobgpd_binary = gobgpd
        self.out = out
        self.nodes = [NodeSpec(i, self.workdir / f"node-{i}") for i in range(1, nodes + 1)]
        if len(str(self.nodes[-1].socket_path)) > 100:
            raise ValueError(f"workdir {self.workdir} is too long for a unix socket path")
        self.plane: ControlPlane | None = None
        self._namespaces: list[str] = []
        self.supervisor = Supervisor(
            self.workdir, poll=self._poll, start=self._restart, out=self.out
        )

    @property
    def expected_sessions(self) -> int:
        """Sessions of a full mesh."""
        n = len(self.nodes)
        return n * (n - 1) // 2

    # -- bring up ----------------------------------------------------------------

    def up(self) -> None:
        """Build everything; the caller must call ``down()`` whatever happens.

        Raises:
            RuntimeError: Preconditions not met, or a component failed to start.
        """
        self._preflight()
        self.out(f"workdir: {self.workdir}")
        self.out("starting the control plane (etcd, kube-apiserver, CRDs, RBAC, GC)")
        plane = ControlPlane(workdir=self.workdir / "controlplane", keep=self.keep)
        self.plane = plane
        plane.start()
        plane.install_crds(REPO_MANIFESTS / "crds")
        plane.apply(REPO_MANIFESTS / "rbac")
        plane.start_controller_manager()
        self.out(f"creating {len(self.nodes)} node namespaces on one bridge ({HUB})")
        self._network()
        record_running(self.workdir)
        for node in self.nodes:
            node.workdir.mkdir(parents=True, exist_ok=True)
            self._start_gobgpd(node)
            assert node.gobgpd is not None
            self.supervisor.track(node.name, "gobgpd", node.gobgpd.pid)
        for node in self.nodes:
            self._start_agent(node)
            assert node.agent is not None
            self.supervisor.track(node.name, "agent", node.agent.pid)
        self._apply_topology()

    def _node(self, name: str) -> NodeSpec:
        return next(n for n in self.nodes if n.name == name)

    def _poll(self, name: str, kind: str) -> int | None:
        node = self._node(name)
        proc = node.gobgpd if kind == "gobgpd" else node.agent
        return None if proc is None else proc.poll()

    def _restart(self, name: str, kind: str) -> int:
        node = self._node(name)
        if kind == "gobgpd":
            self._start_gobgpd(node)
            proc = node.gobgpd
        else:
            self._start_agent(node)
            proc = node.agent
        assert proc is not None
        return proc.pid

    def supervise(self) -> None:
        """Restart any gobgpd or agent that has exited (see ``bgpctl.lab.supervise``)."""
        self.supervisor.tick()

    def _preflight(self) -> None:
        if shutil.which("ip") is None:
            raise RuntimeError("iproute2 (`ip`) is required")
        if not self.gobgpd_binary.exists():
            raise RuntimeError(f"{self.gobgpd_binary} not found (apt-get install gobgpd)")
        if leftovers := netns.list_namespaces():
            raise RuntimeError(
                f"namespaces {', '.join(leftovers)} already exist: another lab is running, "
                "or a previous one was killed (`bgp lab clean` removes them)"
            )

    def _network(self) -> None:
        self._namespaces.append(HUB)  # recorded first: a half-made namespace is removed too
        netns.add_namespace(HUB)
        netns.add_bridge(HUB)
        for node in self.nodes:
            self._namespaces.append(node.namespace)
            netns.add_namespace(node.namespace)
            netns.attach(
                node.namespace,
                "eth0",
                HUB,
                f"p{node.index}",
                [f"{node.ipv6}/64", f"{node.ipv4}/24"],
            )

    def _start_gobgpd(self, node: NodeSpec) -> None:
        with contextlib.suppress(FileNotFoundError):
            node.socket_path.unlink()
        argv = [
            "ip",
            "netns",
            "exec",
            node.namespace,
            str(self.gobgpd_binary),
            f"--api-hosts=unix://{node.socket_path}",
            "--pprof-disable",
            "--log-plain",
        ]
        node.gobgpd = _spawn(argv, node.workdir / "gobgpd.log")
        _wait(
            lambda: netns.accepts(node.socket_path),
            node.gobgpd,
            node.workdir / "gobgpd.log",
            f"gobgpd in {node.namespace}",
        )

    def _start_agent(self, node: NodeSpec) -> None:
        assert self.plane is not None
        argv = [
            sys.executable,
            "-m",
            "bgpctl",
            "run",
            f"--local-endpoint={node.name}",
            f"--gobgp-target={node.target}",
            f"--kubeconfig={self.plane.controller_kubeconfig}",
            "--metrics-addr=0",
            f"--fib-netns={node.namespace}",  # the agent runs in the root namespace
        ]
        node.agent = _spawn(argv, node.workdir / "bgp-run.log")

    def _apply_topology(self) -> None:
        assert self.plane is not None
        objs = topology({node.name: node.ipv6 for node in self.nodes})
        text = yaml.safe_dump_all(objs, sort_keys=False)
        (self.workdir / "topology.yaml").write_text(text)
        self.out(
            f"applying BGPConfiguration default, {len(self.nodes)} BGPEndpoints and "
            f"BGPPeeringPolicy {MESH_POLICY} (mesh: {self.expected_sessions} sessions, "
            "generated by the elected leader)"
        )
        self.plane.kubectl("apply", "--server-side", "-f", "-", input=text)

    # -- convergence ---------------------------------------------------------------

    def states(self) -> dict[str, dict[str, str]]:
        """Session -> {endpoint: state} of the lab's sessions, read from the API."""
        assert self.plane is not None
        selector = f"{POLICY_LABEL}={MESH_POLICY}"
        proc = self.plane.kubectl("get", "bgpsessions", "-l", selector, "-o", "json")
        items: list[dict[str, Any]] = json.loads(proc.stdout).get("items", [])
        return session_states(items)

    def wait_established(
        self,
        *,
        timeout: float,
        interval: float = 3.0,
        progress: Callable[[dict[str, dict[str, str]], float], None] | None = None,
    ) -> dict[str, dict[str, str]]:
        """Poll until every session end is Established; report every ``interval`` s.

        Raises:
            TimeoutError: Not converged within ``timeout`` (the last states included).
        """
        start = time.monotonic()
        last_report = -interval
        table: dict[str, dict[str, str]] = {}
        while True:
            self.supervise()
            table = self.states()
            elapsed = time.monotonic() - start
            done = all_established(table, self.expected_sessions)
            if progress is not None and (done or elapsed - last_report >= interval):
                progress(table, elapsed)
                last_report = elapsed
            if done:
                return table
            if elapsed > timeout:
                raise TimeoutError(f"sessions not all Established after {timeout:.0f}s")
            time.sleep(0.5)

    # -- tear down -----------------------------------------------------------------

    def down(self) -> None:
        """Stop the agents and gobgpd, delete the namespaces, stop the control plane.

        Every step runs even if an earlier one failed; idempotent.
        """
        for node in self.nodes:
            with contextlib.suppress(Exception):
                stop(node.agent, timeout=5.0)
        for node in self.nodes:
            with contextlib.suppress(Exception):
                stop(node.gobgpd, timeout=5.0)
        for ns in reversed(self._namespaces):
            with contextlib.suppress(Exception):
                netns.remove_namespace(ns)
        self._namespaces.clear()
        forget_running()
        if self.plane is not None:
            with contextlib.suppress(Exception):
                self.plane.stop()
            self.plane = None
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)


def clean() -> list[str]:
    """Remove every ``bgplab-`` namespace and whatever runs inside; returns the names."""
    names = netns.list_namespaces()
    for name in names:
        netns.remove_namespace(name)
    return names


def _spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as fh:
        return subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=fh, stderr=fh, start_new_session=True
        )


def _wait(check: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + 15.0
    while time.monotonic() < deadline:
        if check():
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{tail(log, 20)}")
        time.sleep(0.05)
    raise RuntimeError(f"{what} not ready within 15s:\n{tail(log, 20)}")
