"""Build (once) and locate the control-plane binaries.

kube-apiserver, kube-controller-manager and kubectl come from one Go module that
requires ``k8s.io/kubernetes`` with a ``replace`` line per staging module (the main
module's own ``./staging`` replaces do not apply to a dependency); etcd comes from a
five-line main around ``etcdmain``. Results land in
``<cache>/envtest/<k8s>-etcd<etcd>/bin`` and are rebuilt only when missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bgpctl.envtest.versions import (
    CHAINSAW_VERSION,
    CONTAINERD_VERSION,
    ETCD_VERSION,
    KUBERNETES_VERSION,
    STAGING_MODULES,
    STAGING_VERSION,
    cache_root,
)

K8S_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kubectl")
NODE_COMMANDS = ("kubelet", "kube-scheduler")
"""The one-node cluster's extra commands, from the same k8s.io/kubernetes build."""
CONTAINERD_COMMANDS = ("containerd", "containerd-shim-runc-v2", "ctr")


@dataclass(frozen=True, slots=True)
class Binaries:
    """Paths of the four binaries."""

    kube_apiserver: Path
    kube_controller_manager: Path
    kubectl: Path
    etcd: Path


def bin_dir() -> Path:
    """Where the binaries of the pinned versions live."""
    return cache_root() / "envtest" / f"{KUBERNETES_VERSION}-etcd{ETCD_VERSION}" / "bin"


def _binaries(directory: Path) -> Binaries:
    return Binaries(
        kube_apiserver=directory / "kube-apiserver",
        kube_controller_manager=directory / "kube-controller-manager",
        kubectl=directory / "kubectl",
        etcd=directory / "etcd",
    )


def find_binaries() -> Binaries | None:
    """The cached binaries, or None when any is missing."""
    found = _binaries(bin_dir())
    paths = (found.kube_apiserver, found.kube_controller_manager, found.kubectl, found.etcd)
    return found if all(p.is_file() and os.access(p, os.X_OK) for p in paths) else None


def _k8s_module(
    src: Path, *, module: str = "k8sbin", commands: Iterable[str] = K8S_COMMANDS
) -> None:
    """A Go module that builds ``commands`` of k8s.io/kubernetes (staging modules pinned)."""
    src.mkdir(parents=True, exist_ok=True)
    replaces = "\n".join(f"\tk8s.io/{m} => k8s.io/{m} {STAGING_VERSION}" for m in STAGING_MODULES)
    (src / "go.mod").write_text(
        f"module bgpctl.local/{module}\n\ngo 1.26.0\n\n"
        f"require k8s.io/kubernetes {KUBERNETES_VERSION}\n\nreplace (\n{replaces}\n)\n"
    )
    imports = "\n".join(f'\t_ "k8s.io/kubernetes/cmd/{c}"' for c in commands)
    (src / "tools.go").write_text(f"//go:build tools\n\npackage tools\n\nimport (\n{imports}\n)\n")


def _etcd_module(src: Path) -> None:
    src.mkdir(parents=True, exist_ok=True)
    (src / "go.mod").write_text(
        "module bgpctl.local/etcdbin\n\ngo 1.26.0\n\n"
        f"require go.etcd.io/etcd/server/v3 {ETCD_VERSION}\n"
    )
    (src / "main.go").write_text(
        'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\n'
        "func main() { etcdmain.Main(os.Args) }\n"
    )


def _run(cmd: list[str], cwd: Path, label: str, out: TextIO) -> None:
    """Run a go command, printing a heartbeat so a multi-minute build is visibly alive."""
    start = time.monotonic()
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(20.0):
            print(
                f"  {label}: still building ({time.monotonic() - start:.0f}s)", file=out, flush=True
            )

    thread = threading.Thread(target=heartbeat, daemon=True)
    thread.start()
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    finally:
        done.set()
        thread.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{label} failed ({' '.join(cmd)}):\n{proc.stderr[-4000:]}")
    print(f"  {label}: done in {time.monotonic() - start:.0f}s", file=out, flush=True)


def ensure_binaries(out: TextIO = sys.stderr) -> Binaries:
    """Return the cached binaries, building whatever is missing first.

    Raises:
        RuntimeError: ``go`` is not installed or a build failed (stderr attached).
    """
    if (found := find_binaries()) is not None:
        return found
    if shutil.which("go") is None:
        raise RuntimeError("building the control plane needs Go (https://go.dev) on PATH")
    target = bin_dir()
    target.mkdir(parents=True, exist_ok=True)
    src = cache_root() / "src"
    print(
        f"building Kubernetes {KUBERNETES_VERSION} and etcd {ETCD_VERSION} into {target} "
        "(first time only; several minutes)",
        file=out,
        flush=True,
    )
    bins = _binaries(target)
    k8s_src = src / f"k8s-{KUBERNETES_VERSION}"
    if not all((target / c).exists() for c in K8S_COMMANDS):
        _k8s_module(k8s_src)
        _run(["go", "mod", "tidy"], k8s_src, "k8s go mod tidy", out)
        pkgs = [f"k8s.io/kubernetes/cmd/{c}" for c in K8S_COMMANDS]
        _run(["go", "build", "-o", str(target) + "/", *pkgs], k8s_src, "k8s build", out)
    if not bins.etcd.exists():
        etcd_src = src / f"etcd-{ETCD_VERSION}"
        _etcd_module(etcd_src)
        _run(["go", "mod", "tidy"], etcd_src, "etcd go mod tidy", out)
        _run(["go", "build", "-o", str(bins.etcd), "."], etcd_src, "etcd build", out)
    found = find_binaries()
    if found is None:
        raise RuntimeError(f"build finished but binaries are missing in {target}")
    return found


def chainsaw_path() -> Path:
    """Where the pinned chainsaw binary lives."""
    return cache_root() / "chainsaw" / CHAINSAW_VERSION / "chainsaw"


def ensure_chainsaw(out: TextIO = sys.stderr) -> Path:
    """Return the cached chainsaw binary, building it with ``go install`` when missing."""
    path = chainsaw_path()
    if path.is_file():
        return path
    if shutil.which("go") is None:
        raise RuntimeError("building chainsaw needs Go (https://go.dev) on PATH")
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"building chainsaw {CHAINSAW_VERSION} into {path.parent}", file=out, flush=True)
    env_dir = path.parent
    _run(
        [
            "env",
            f"GOBIN={env_dir}",
            "go",
            "install",
            f"github.com/kyverno/chainsaw@{CHAINSAW_VERSION}",
        ],
        env_dir,
        "chainsaw build",
        out,
    )
    return path


@dataclass(frozen=True, slots=True)
class NodeBinaries:
    """Paths of what a node adds to the control plane (runc and CNI come from Debian)."""

    kubelet: Path
    kube_scheduler: Path
    containerd: Path
    ctr: Path


def containerd_dir() -> Path:
    """Where containerd, its runc shim and ctr of the pinned version live."""
    return cache_root() / "containerd" / CONTAINERD_VERSION / "bin"


def _node_binaries() -> NodeBinaries:
    return NodeBinaries(
        kubelet=bin_dir() / "kubelet",
        kube_scheduler=bin_dir() / "kube-scheduler",
        containerd=containerd_dir() / "containerd",
        ctr=containerd_dir() / "ctr",
    )


def find_node_binaries() -> NodeBinaries | None:
    """The cached node binaries, or None when any is missing."""
    paths = [bin_dir() / c for c in NODE_COMMANDS]
    paths += [containerd_dir() / c for c in CONTAINERD_COMMANDS]
    ok = all(p.is_file() and os.access(p, os.X_OK) for p in paths)
    return _node_binaries() if ok else None


def ensure_node_binaries(out: TextIO = sys.stderr) -> NodeBinaries:
    """Return kubelet, kube-scheduler, containerd and ctr, building what is missing.

    kubelet and kube-scheduler come from the same k8s.io/kubernetes version as the API
    server; containerd (plus its runc shim and ctr) from the Go module proxy, without
    cgo (no btrfs, devmapper or zfs snapshotters; overlayfs is what the node uses).

    Raises:
        RuntimeError: ``go`` is not installed or a build failed (stderr attached).
    """
    if (found := find_node_binaries()) is not None:
        return found
    if shutil.which("go") is None:
        raise RuntimeError("building the node needs Go (https://go.dev) on PATH")
    target = bin_dir()
    target.mkdir(parents=True, exist_ok=True)
    if not all((target / c).exists() for c in NODE_COMMANDS):
        src = cache_root() / "src" / f"k8s-node-{KUBERNETES_VERSION}"
        _k8s_module(src, module="k8snodebin", commands=NODE_COMMANDS)
        _run(["go", "mod", "tidy"], src, "kubelet go mod tidy", out)
        pkgs = [f"k8s.io/kubernetes/cmd/{c}" for c in NODE_COMMANDS]
        _run(["go", "build", "-o", str(target) + "/", *pkgs], src, "kubelet build", out)
    ctrd = containerd_dir()
    if not all((ctrd / c).exists() for c in CONTAINERD_COMMANDS):
        ctrd.mkdir(parents=True, exist_ok=True)
        pkgs = [
            f"github.com/containerd/containerd/v2/cmd/{c}@{CONTAINERD_VERSION}"
            for c in CONTAINERD_COMMANDS
        ]
        _run(
            ["env", f"GOBIN={ctrd}", "CGO_ENABLED=0", "go", "install",
             "-tags", "no_btrfs,no_devmapper,no_zfs", *pkgs],
            ctrd, "containerd build", out,
        )  # fmt: skip
    found = find_node_binaries()
    if found is None:
        raise RuntimeError(f"build finished but node binaries are missing in {target}")
    return found
