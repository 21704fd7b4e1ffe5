"""Command-line options that ``bgp run`` and ``bgp operator`` declare alike.

Each is an ``Annotated`` type a command uses for its parameter, so the flag, its
environment variable and its help text are written once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bgpctl.cli.logopts import LogFormat, LogLevel

Kubeconfig = Annotated[
    Path | None,
    typer.Option(envvar="KUBECONFIG", help="Kubeconfig (default: in-cluster or ~/.kube)."),
]
MetricsAddr = Annotated[str, typer.Option(help="Bind address of /metrics ('0' disables).")]
HealthAddr = Annotated[
    str,
    typer.Option(
        help="Bind address of /healthz and /readyz (default: --metrics-addr; '0' disables)."
    ),
]
LogLevelOption = Annotated[LogLevel, typer.Option(help="Minimum level of log lines.")]
LogFormatOption = Annotated[
    LogFormat | None,
    typer.Option(help="json or console (default: console on a terminal, else json)."),
]
