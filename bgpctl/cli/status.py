"""``bgp status``: what is up and what is not, for people and for scripts.

Without ``--gobgp``: the cluster view, read from the six kinds' status through the API
(sessions with both ends' state, uptime, counters and last error; the configuration per
node; peering policies; advertisements; route policies). With ``--gobgp ADDR``: the node
view of one GoBGP (its neighbors, its RIB per family) and, with ``--fib-protocol``, the
number of kernel routes of that protocol (in ``--fib-netns`` if given).

Exit code 0 when everything is up, 1 when something is down (the "Down:" lines), 2 on
bad usage or when the API / GoBGP cannot be reached.
"""

from __future__ import annotations

import asyncio
import enum
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from bgpctl.cli.statusview import cluster_report, node_report, render
from bgpctl.controllers.resources import (
    BGP_ADVERTISEMENTS,
    BGP_CONFIGURATIONS,
    BGP_ENDPOINTS,
    BGP_PEERING_POLICIES,
    BGP_ROUTE_POLICIES,
    BGP_SESSIONS,
)
from bgpctl.controllers.sessionstatus import family_name
from bgpctl.gobgp.client import GoBGPClient
from bgpctl.gobgp.types import Family
from bgpctl.routesync import MAIN_TABLE
from bgpctl.routesync.netlink import NetlinkRouteTable
from bgpctl.runtime.client.kube import KubeClient


class Output(enum.StrEnum):
    """Output formats."""

    table = "table"
    wide = "wide"
    json = "json"
    yaml = "yaml"


async def fetch_cluster(kubeconfig: str | None) -> dict[str, Any]:
    """Read the six kinds and build the cluster report."""
    if kubeconfig:
        kube = await KubeClient.from_kubeconfig(kubeconfig, user_agent="bgp-status")
    else:
        kube = await KubeClient.from_environment(user_agent="bgp-status")
    async with kube:
        lists = [
            (await kube.list(rt)).items
            for rt in (
                BGP_SESSIONS,
                BGP_ENDPOINTS,
                BGP_CONFIGURATIONS,
                BGP_PEERING_POLICIES,
                BGP_ADVERTISEMENTS,
                BGP_ROUTE_POLICIES,
            )
        ]
    return cluster_report(
        sessions=lists[0],
        endpoints=lists[1],
        configurations=lists[2],
        peering_policies=lists[3],
        advertisements=lists[4],
        route_policies=lists[5],
    )


async def fetch_node(
    target: str, fib_protocol: int | None, fib_netns: str | None
) -> dict[str, Any]:
    """Ask one GoBGP (and the kernel) and build the node report."""
    now = datetime.now(UTC).timestamp()
    gobgp = GoBGPClient(target)
    await gobgp.connect(connect_timeout=5.0)
    try:
        peers = []
        families: set[Family] = set()
        for peer in await gobgp.list_peers():
            st = peer.state
            families.update(c.family for c in st.families)
            peers.append(
                {
                    "address": str(peer.spec.neighbor_address),
                    "asn": peer.spec.peer_asn,
                    "state": st.session_state.value,
                    "uptime": _seconds(now - st.uptime) if st.established and st.uptime else "",
                    "received": sum(c.received for c in st.families),
                    "accepted": sum(c.accepted for c in st.families),
                    "advertised": sum(c.advertised for c in st.families),
                    "flaps": st.flops,
                    "session": peer.spec.description.removeprefix("bgpsession/"),
                }
            )
        rib = []
        for family in sorted(families, key=family_name):
            table = await gobgp.get_table(family)
            rib.append(
                {
                    "family": family_name(family),
                    "destinations": table.destinations,
                    "paths": table.paths,
                }
            )
    finally:
        await gobgp.close()
    fib = None
    if fib_protocol is not None:
        async with NetlinkRouteTable(protocol=fib_protocol, netns=fib_netns) as kernel:
            routes = await kernel.dump(tables=frozenset({MAIN_TABLE}), protocol=fib_protocol)
        fib = {"protocol": fib_protocol, "routes": len(routes)}
    return node_report(peers=peers, rib=rib, fib=fib)


def _seconds(value: float) -> str:
    seconds = int(value)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes}m" if hours else f"{minutes}m{secs}s"


def status(
    output: Annotated[Output, typer.Option("-o", "--output", help="Output format.")] = (
        Output.table
    ),
    kubeconfig: Annotated[
        Path | None,
        typer.Option(envvar="KUBECONFIG", help="Kubeconfig (default: in-cluster or ~/.kube)."),
    ] = None,
    gobgp: Annotated[
        str | None,
        typer.Option(help="Show this GoBGP's view (127.0.0.1:PORT or unix:///path) instead."),
    ] = None,
    fib_protocol: Annotated[
        int | None, typer.Option(help="With --gobgp: count kernel routes of this protocol.")
    ] = None,
    fib_netns: Annotated[
        str | None, typer.Option(help="With --fib-protocol: in this network namespace.")
    ] = None,
) -> None:
    """Show BGP status; exit 1 when something is down."""
    try:
        if gobgp:
            report = asyncio.run(fetch_node(gobgp, fib_protocol, fib_netns))
        else:
            report = asyncio.run(fetch_cluster(os.fspath(kubeconfig) if kubeconfig else None))
    except Exception as err:  # unreachable API or GoBGP: a message, not a traceback
        typer.echo(f"bgp status: {err}", err=True)
        raise typer.Exit(2) from err
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    typer.echo(render(report, output.value, color=color), nl=False)
    raise typer.Exit(1 if report["problems"] else 0)
