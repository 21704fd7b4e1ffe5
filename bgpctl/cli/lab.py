"""``bgp lab``: one command for a whole local lab (control plane, nodes, sessions)."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from bgpctl.lab import LocalLab
from bgpctl.lab.lab import clean as clean_namespaces
from bgpctl.lab.supervise import format_status, running_status, signal_component
from bgpctl.lab.topology import format_table

app = typer.Typer(help="A local lab: API server, nodes in network namespaces, gobgpd, bgp run.")


def _echo(line: str) -> None:
    typer.echo(line)
    sys.stdout.flush()


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@app.command()
def up(
    nodes: Annotated[int, typer.Option(min=1, max=250, help="Number of nodes.")] = 3,
    workdir: Annotated[
        Path | None,
        typer.Option(help="Keep state and logs here (default: a temporary directory, removed)."),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check/--no-check",
            "--exit-when-ready",
            help="Converge, tear down and exit 0 (non-zero on timeout) instead of waiting.",
        ),
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for every session to be Established.")
    ] = 120.0,
) -> None:
    """Start the lab, wait until every session is Established, run until Ctrl-C/SIGTERM."""
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    lab: LocalLab | None = None
    code = 0
    try:
        lab = LocalLab(nodes=nodes, workdir=workdir, out=_echo)
        lab.up()
        _echo("waiting for every session to be Established (GoBGP's first connect: 5-10 s)")
        lab.wait_established(
            timeout=timeout,
            progress=lambda table, elapsed: _echo(f"\n[{elapsed:5.1f}s]\n{format_table(table)}"),
        )
        _echo(f"\nall {lab.expected_sessions} sessions Established")
        if check:
            return
        _usage(lab)
        stopped = threading.Event()
        while not stopped.wait(0.5):
            lab.supervise()
    except KeyboardInterrupt:
        _echo("\nstopping")
    except (RuntimeError, TimeoutError, ValueError) as exc:
        typer.echo(f"bgp lab: {exc}", err=True)
        if lab is not None and lab.plane is not None:
            with contextlib.suppress(Exception):
                typer.echo(format_table(lab.states()), err=True)
        code = 1
    finally:
        # Tear down whatever happens; a second Ctrl-C must not interrupt it.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if lab is not None:
            started = time.monotonic()
            lab.down()
            _echo(f"lab removed ({time.monotonic() - started:.1f}s)")
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, previous)
    if code:
        raise typer.Exit(code)


@app.command()
def status() -> None:
    """Show the running lab's components: state, pid, restart count, last exit status."""
    try:
        _echo(format_status(running_status()))
    except RuntimeError as exc:
        typer.echo(f"bgp lab: {exc}", err=True)
        raise typer.Exit(1) from exc


@app.command()
def restart(
    node: Annotated[str, typer.Argument(help="Node name, e.g. node-1.")],
    gobgpd: Annotated[
        bool, typer.Option("--gobgpd/--agent", help="Restart gobgpd instead of `bgp run`.")
    ] = False,
    kill: Annotated[bool, typer.Option("--kill", help="SIGKILL instead of SIGTERM.")] = False,
) -> None:
    """Stop one component of the running lab; `bgp lab up` starts it again (a drill)."""
    kind = "gobgpd" if gobgpd else "agent"
    try:
        pid = signal_component(node, kind, kill=kill)
    except RuntimeError as exc:
        typer.echo(f"bgp lab: {exc}", err=True)
        raise typer.Exit(1) from exc
    _echo(f"sent {'SIGKILL' if kill else 'SIGTERM'} to {kind} of {node} (pid {pid})")


@app.command()
def clean() -> None:
    """Remove the namespaces (and their processes) of a lab that was killed."""
    removed = clean_namespaces()
    _echo(f"removed: {', '.join(removed)}" if removed else "nothing to remove")


def _usage(lab: LocalLab) -> None:
    assert lab.plane is not None
    first = lab.nodes[0]
    _echo(
        "\n".join(
            [
                "",
                f"export KUBECONFIG={lab.plane.admin_kubeconfig}",
                f"export PATH={lab.plane.binaries.kubectl.parent}:$PATH   # kubectl",
                "kubectl get bgp",
                f"gobgp --target {first.target} neighbor",
                f"ip netns exec {first.namespace} ip addr show eth0",
                f"logs: {lab.workdir}/node-<i>/{{gobgpd,bgp-run}}.log",
                "Ctrl-C to stop and remove everything",
            ]
        )
    )
