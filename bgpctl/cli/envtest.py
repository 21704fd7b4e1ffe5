"""``bgp envtest``: build the control-plane binaries, or run a throwaway control plane."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

from bgpctl.envtest import ETCD_VERSION, KUBERNETES_VERSION, ControlPlane, ensure_binaries
from bgpctl.envtest.binaries import ensure_chainsaw, ensure_node_binaries

app = typer.Typer(help="A real kube-apiserver + etcd on loopback (tests and the lab).")

REPO_MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"


@app.command()
def build() -> None:
    """Build the control plane, chainsaw and the one-node cluster's binaries (cached)."""
    start = time.monotonic()
    bins = ensure_binaries(out=sys.stderr)
    ensure_chainsaw(out=sys.stderr)
    ensure_node_binaries(out=sys.stderr)
    typer.echo(
        f"Kubernetes {KUBERNETES_VERSION}, etcd {ETCD_VERSION}: {bins.kube_apiserver.parent} "
        f"({time.monotonic() - start:.1f}s)"
    )


@app.command()
def start(
    workdir: Annotated[
        Path | None, typer.Option(help="Keep state here (default: a temporary directory).")
    ] = None,
    crds: Annotated[bool, typer.Option(help="Install the bgp.miloapis.com CRDs and RBAC.")] = True,
    controller_manager: Annotated[
        bool, typer.Option(help="Also run kube-controller-manager's garbage collector.")
    ] = True,
) -> None:
    """Start a control plane and keep it running until Ctrl-C; prints the kubeconfigs."""
    plane = ControlPlane(workdir=workdir, keep=workdir is not None)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        plane.start()
        if crds:
            plane.install_crds(REPO_MANIFESTS / "crds")
            plane.apply(REPO_MANIFESTS / "rbac")
        if controller_manager:
            plane.start_controller_manager()
        typer.echo(f"server:      {plane.server_url}")
        typer.echo(f"admin:       export KUBECONFIG={plane.admin_kubeconfig}")
        typer.echo(f"controller:  {plane.controller_kubeconfig}")
        typer.echo("Ctrl-C to stop")
        while not stopped.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        plane.stop()
