"""The ``bgp`` command: entry point for every subcommand."""

from __future__ import annotations

import typer

from bgpctl import __version__
from bgpctl.cli import envtest, lab
from bgpctl.cli.operator import operator
from bgpctl.cli.run import run
from bgpctl.cli.status import status

app = typer.Typer(
    name="bgp",
    help="bgpctl: Kubernetes-native BGP control plane (CRDs -> GoBGP -> kernel FIB).",
    no_args_is_help=True,
    add_completion=False,
)


app.add_typer(envtest.app, name="envtest")
app.add_typer(lab.app, name="lab")
app.command("run")(run)
app.command("operator")(operator)
app.command("status")(status)


@app.callback()
def _root() -> None:
    """bgpctl: Kubernetes-native BGP control plane."""


@app.command()
def version() -> None:
    """Print the bgpctl version."""
    typer.echo(f"bgpctl {__version__}")


def main() -> None:
    """Run the ``bgp`` command line."""
    app()
