"""A real one-node Kubernetes cluster on this machine, for the deployment tests.

Next to a :class:`~bgpctl.envtest.ControlPlane` (etcd, kube-apiserver) it starts
kube-controller-manager (DaemonSets, service accounts, the root CA ConfigMap, garbage
collection), kube-scheduler, containerd v2 with Debian's runc, and a kubelet that
registers the Node ``name``. Kubernetes v1.36's kubelet refuses cgroup v1 unless told
``failCgroupV1: false``; this machine has only cgroup v1, so the kubelet runs with that
and the ``cgroupfs`` driver. CNI is a loopback-only network: the only pods are the
node agent's, which use the host network.

Images come from archives, never a registry: the project image (``make image``) and a
pause image built from Kubernetes' own ``pause.c`` (``scripts/build-image.sh``), both
imported with ``ctr -n k8s.io images import``. Everything lives in one work directory
that :meth:`Node.stop` removes (unmounting what the kubelet mounted), and the kubelet's
cgroups live under ``/bgpctl-node-<pid>`` of each hierarchy and are removed too.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from bgpctl.envtest import ControlPlane
from bgpctl.envtest.binaries import NodeBinaries, ensure_node_binaries
from bgpctl.envtest.process import free_port, spawn, stop, tail, wait_until
from bgpctl.envtest.versions import cache_root

RUNC = Path(os.environ.get("BGPCTL_RUNC", "/usr/sbin/runc"))
CNI_BIN = Path("/usr/lib/cni")
CGROUP_FS = Path("/sys/fs/cgroup")


def image_archives() -> tuple[Path, Path]:
    """The project image and the pause image archives that ``make image`` writes."""
    directory = cache_root() / "image"
    return directory / "bgpctl.tar", directory / "pause.tar"


class Node:
    """containerd + kubelet (+ scheduler and controller manager) joined to ``plane``."""

    def __init__(
        self, plane: ControlPlane, *, name: str = "bgp-node", binaries: NodeBinaries | None = None
    ) -> None:
        self.plane = plane
        self.name = name
        self.binaries = binaries or ensure_node_binaries()
        self.workdir = Path(tempfile.mkdtemp(prefix="bgpctl-node-"))
        self.cgroup_root = f"/bgpctl-node-{os.getpid()}"
        self.socket = self.workdir / "containerd.sock"
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    def log(self, name: str) -> Path:
        """A component's log: containerd, kubelet, kube-scheduler, kube-controller-manager."""
        return self.workdir / f"{name}.log"

    def logs(self) -> str:
        """The tail of every component's log (for failure reports)."""
        return "\n".join(
            f"--- {n}\n{tail(self.log(n))}"
            for n in ("containerd", "kubelet", "kube-scheduler", "kube-controller-manager")
        )

    # -- lifecycle --------------------------------------------------------------------

    def start(self, *, timeout: float = 120.0) -> None:
        """Start everything and wait until the Node is registered and Ready."""
        self._start_controller_manager()
        self._start_scheduler()
        self._start_containerd()
        for archive in image_archives():
            self.ctr("images", "import", "--local", str(archive))
        self._start_kubelet()
        wait_until(
            self._node_ready, timeout=timeout, what=f"node {self.name} Ready",
            proc=self._procs["kubelet"], log=self.log("kubelet"),
        )  # fmt: skip

    def stop(self) -> None:
        """Stop every component, remove the pods' containers, mounts, cgroups, workdir."""
        stop(self._procs.pop("kubelet", None))
        with contextlib.suppress(Exception):
            self._remove_all_containers()
        for name in ("containerd", "kube-scheduler", "kube-controller-manager"):
            stop(self._procs.pop(name, None))
        self._kill_shims()
        self._unmount_all()
        self._remove_cgroups()
        self._remove_log_links()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Node:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- tools ------------------------------------------------------------------------

    def container_log(self, namespace: str, pod: str, container: str) -> str:
        """A container's log as the kubelet wrote it (every restart, oldest first).

        Read from the kubelet's log directory: ``kubectl logs`` would need the API
        server to reach the kubelet, which listens on loopback under the Node's name.
        """
        pattern = f"{namespace}_{pod}_*/{container}/*.log"
        files = sorted((self.workdir / "pod-logs").glob(pattern), key=lambda p: p.stat().st_mtime)
        return "".join(f.read_text(errors="replace") for f in files)

    def ctr(self, *args: str) -> str:
        """Run ``ctr -n k8s.io`` against this node's containerd."""
        proc = subprocess.run(
            [str(self.binaries.ctr), "-a", str(self.socket), "-n", "k8s.io", *args],
            capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"ctr {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def _node_ready(self) -> bool:
        proc = self.plane.kubectl("get", "node", self.name, "-o", "json", check=False)
        if proc.returncode != 0:
            return False
        conditions = json.loads(proc.stdout)["status"].get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    # -- components -------------------------------------------------------------------

    def _start_controller_manager(self) -> None:
        plane = self.plane
        self._procs["kube-controller-manager"] = spawn(
            [
                str(plane.binaries.kube_controller_manager),
                f"--kubeconfig={plane.admin_kubeconfig}",
                f"--authentication-kubeconfig={plane.admin_kubeconfig}",
                f"--authorization-kubeconfig={plane.admin_kubeconfig}",
                "--controllers=daemonset-controller,garbage-collector-controller,"
                "namespace-controller,serviceaccount-controller,"
                "root-ca-certificate-publisher-controller",
                f"--root-ca-file={plane.workdir / 'certs' / 'apiserver.crt'}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
                f"--cert-dir={self.workdir / 'kcm-certs'}",
            ],
            self.log("kube-controller-manager"),
        )

    def _start_scheduler(self) -> None:
        plane = self.plane
        self._procs["kube-scheduler"] = spawn(
            [
                str(self.binaries.kube_scheduler),
                f"--kubeconfig={plane.admin_kubeconfig}",
                f"--authentication-kubeconfig={plane.admin_kubeconfig}",
                f"--authorization-kubeconfig={plane.admin_kubeconfig}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
                f"--cert-dir={self.workdir / 'scheduler-certs'}",
            ],
            self.log("kube-scheduler"),
        )

    def _start_containerd(self) -> None:
        w = self.workdir
        cni = w / "cni"
        cni.mkdir()
        (cni / "10-loopback.conflist").write_text(
            json.dumps(
                {"cniVersion": "1.0.0", "name": "bgpctl-node", "plugins": [{"type": "loopback"}]}
            )
        )
        runtime = 'plugins."io.containerd.cri.v1.runtime"'
        config = f"""version = 3
root = "{w / "containerd" / "root"}"
state = "{w / "containerd" / "state"}"
[grpc]
  address = "{self.socket}"
[ttrpc]
  address = "{self.socket}.ttrpc"
[{runtime}]
  # Kubelet asks for negative OOM scores (-998 for the sandbox); raising oneself above
  # the OOM killer needs CAP_SYS_RESOURCE, which this machine's root does not have
  # (runc: "can't get final child's PID from pipe: EOF"). Clamp to containerd's own.
  restrict_oom_score_adj = true
[{runtime}.containerd]
  default_runtime_name = "runc"
[{runtime}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[{runtime}.containerd.runtimes.runc.options]
  BinaryName = "{RUNC}"
  SystemdCgroup = false
[{runtime}.cni]
  bin_dirs = ["{CNI_BIN}"]
  conf_dir = "{cni}"
[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
"""
        (w / "containerd.toml").write_text(config)
        env_path = f"{self.binaries.containerd.parent}:{os.environ.get('PATH', '')}"
        with self.log("containerd").open("wb") as log:
            proc = subprocess.Popen(
                [str(self.binaries.containerd), "--config", str(w / "containerd.toml")],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PATH": env_path},
                start_new_session=True,
            )
        self._procs["containerd"] = proc
        wait_until(
            self.socket.exists, timeout=30, what="containerd", proc=proc, log=self.log("containerd")
        )

    def _start_kubelet(self) -> None:
        w = self.workdir
        config = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            # This machine has cgroup v1 only; v1.36 refuses it unless told otherwise.
            "failCgroupV1": False,
            "cgroupDriver": "cgroupfs",
            "cgroupRoot": self.cgroup_root,
            "containerRuntimeEndpoint": f"unix://{self.socket}",
            "address": "127.0.0.1",
            "port": free_port(),
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": free_port(),
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": False},
            },
            "authorization": {"mode": "AlwaysAllow"},
            "failSwapOn": False,
            "podLogsDir": str(w / "pod-logs"),
            "resolvConf": "",
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "evictionHard": {
                "memory.available": "1Mi",
                "nodefs.available": "1%",
                "imagefs.available": "1%",
            },
            "syncFrequency": "5s",
            "fileCheckFrequency": "5s",
            "nodeStatusUpdateFrequency": "5s",
            "serializeImagePulls": False,
            "localStorageCapacityIsolation": False,
        }
        (w / "kubelet.yaml").write_text(yaml.safe_dump(config))
        for hierarchy in self._hierarchies():
            root = hierarchy / self.cgroup_root.lstrip("/")
            root.mkdir(exist_ok=True)
            # A new v1 cpuset cgroup starts with no CPUs and no memory nodes, so nothing
            # could run in it: give it the parent's (runc does the same for its own).
            for name in ("cpuset.cpus", "cpuset.mems"):
                if (hierarchy / name).exists():
                    (root / name).write_text((hierarchy / name).read_text())
        self._procs["kubelet"] = spawn(
            [
                str(self.binaries.kubelet),
                f"--config={w / 'kubelet.yaml'}",
                f"--kubeconfig={self.plane.admin_kubeconfig}",
                f"--root-dir={w / 'kubelet'}",
                f"--cert-dir={w / 'kubelet-certs'}",
                f"--hostname-override={self.name}",
                "--v=1",
            ],
            self.log("kubelet"),
        )

    # -- cleanup ----------------------------------------------------------------------

    def _remove_all_containers(self) -> None:
        for task in self.ctr("tasks", "ls", "-q").split():
            subprocess.run(
                [str(self.binaries.ctr), "-a", str(self.socket), "-n", "k8s.io",
                 "tasks", "kill", "-s", "SIGKILL", task],
                capture_output=True, check=False, timeout=30,
            )  # fmt: skip
        deadline = time.monotonic() + 15
        while self.ctr("tasks", "ls", "-q").split() and time.monotonic() < deadline:
            time.sleep(0.2)
        for container in self.ctr("containers", "ls", "-q").split():
            subprocess.run(
                [str(self.binaries.ctr), "-a", str(self.socket), "-n", "k8s.io",
                 "containers", "rm", container],
                capture_output=True, check=False, timeout=30,
            )  # fmt: skip

    def _kill_shims(self) -> None:
        """Kill the runc shims of our containerd: they outlive it by design."""
        needle = f"-address\0{self.socket}\0".encode()
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                if needle in (proc / "cmdline").read_bytes():
                    os.kill(int(proc.name), signal.SIGKILL)

    def _unmount_all(self) -> None:
        prefix = str(self.workdir)
        mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
        for target in sorted((m for m in mounts if m.startswith(prefix)), reverse=True):
            subprocess.run(["umount", "-l", target], capture_output=True, check=False)

    def _remove_log_links(self) -> None:
        """The kubelet also links every container log from /var/log/containers."""
        links = Path("/var/log/containers")
        if not links.is_dir():
            return
        for link in links.iterdir():
            if link.is_symlink() and os.readlink(link).startswith(str(self.workdir)):
                link.unlink()
        with contextlib.suppress(OSError):
            links.rmdir()  # only if empty: it may be someone else's

    def _hierarchies(self) -> list[Path]:
        return [p for p in CGROUP_FS.iterdir() if p.is_dir() and (p / "cgroup.procs").exists()]

    def _remove_cgroups(self) -> None:
        for hierarchy in self._hierarchies():
            root = hierarchy / self.cgroup_root.lstrip("/")
            if not root.exists():
                continue
            for directory in sorted(
                (d for d in root.rglob("*") if d.is_dir()), key=lambda d: len(d.parts), reverse=True
            ):
                with contextlib.suppress(OSError):
                    directory.rmdir()
            with contextlib.suppress(OSError):
                root.rmdir()
