"""``bgp operator``: the cluster-wide controllers, on the elected one of its replicas.

Runs as a Deployment (``manifests/operator``, 2 replicas): every replica campaigns for
the Lease ``bgpctl-peering`` in ``--leader-election-namespace``; the holder runs the
cluster-wide controllers (``bgpctl.controllers.operator``), the other waits to take
over. The node agents then run with ``bgp run --no-cluster-controllers``: they never
campaign and cache only their own sessions. ``docs/operator.md`` says when to use
which layout.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from dataclasses import dataclass
from typing import Annotated

import typer

from bgpctl.cli.logopts import LogLevel
from bgpctl.cli.options import (
    HealthAddr,
    Kubeconfig,
    LogFormatOption,
    LogLevelOption,
    MetricsAddr,
)
from bgpctl.controllers.nodecache import cluster_cache
from bgpctl.controllers.operator import setup_operator
from bgpctl.controllers.peeringpolicy import LEASE_NAME
from bgpctl.log import configure
from bgpctl.metrics.controller import controller_metrics_provider
from bgpctl.metrics.leaderelection import leader_election_metrics
from bgpctl.metrics.server import probe_servers
from bgpctl.metrics.workqueue import queue_metrics_provider
from bgpctl.runtime.client.kube import KubeClient
from bgpctl.runtime.controller import ControllerOptions
from bgpctl.runtime.leaderelection import new_identity
from bgpctl.runtime.leaderelection.leaselock import LeaseLock
from bgpctl.runtime.manager import Manager, ManagerOptions
from bgpctl.runtime.recorder import EventRecorder


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorOptions:
    """Everything ``bgp operator`` is told.

    Attributes:
        kubeconfig: Kubeconfig path; ``None`` means ``$KUBECONFIG``, in-cluster, ~/.kube.
        metrics_addr: ``host:port`` of /metrics; "" or "0" disables.
        health_addr: ``host:port`` of /healthz and /readyz; "" or "0" disables.
        handle_signals: Stop gracefully on SIGTERM/SIGINT.
        leader_election_namespace: Namespace of the Lease ``bgpctl-peering``.
        identity: Name of this replica in the Lease (default: host name + random suffix).
    """

    kubeconfig: str | None = None
    metrics_addr: str = "127.0.0.1:8087"
    health_addr: str = ""
    handle_signals: bool = True
    leader_election_namespace: str = "bgp-system"
    identity: str = ""


_DEFAULTS = OperatorOptions()


async def run_operator(options: OperatorOptions) -> None:
    """Run the cluster-wide controllers under leader election until stopped or cancelled."""
    identity = options.identity or f"{socket.gethostname()}_{new_identity()}"
    kubeconfig = options.kubeconfig or os.environ.get("KUBECONFIG")
    user_agent = f"bgpctl-operator/{identity}"
    if kubeconfig:
        kube = await KubeClient.from_kubeconfig(kubeconfig, user_agent=user_agent)
    else:
        kube = await KubeClient.from_environment(user_agent=user_agent)
    namespace = options.leader_election_namespace
    async with kube, contextlib.AsyncExitStack() as stack:
        if not kubeconfig and os.environ.get("KUBERNETES_SERVICE_HOST"):
            lock = LeaseLock.in_cluster(namespace=namespace, name=LEASE_NAME, identity=identity)
        else:
            lock = await LeaseLock.from_kubeconfig(
                kubeconfig or "~/.kube/config",
                namespace=namespace,
                name=LEASE_NAME,
                identity=identity,
            )
        await stack.enter_async_context(lock)
        manager = Manager(
            ManagerOptions(
                handle_signals=options.handle_signals,
                leader_election=True,
                leader_election_id=LEASE_NAME,
            ),
            leader_election_lock=lock,
            leader_election_metrics=leader_election_metrics(),
        )
        for server in probe_servers(
            metrics_bind_address=options.metrics_addr,
            health_probe_bind_address=options.health_addr,
            healthz=manager.healthz,
            readyz=manager.readyz,
        ):
            manager.add_server(server)
        setup_operator(
            manager,
            cache=cluster_cache(kube),
            client=kube,
            recorder=EventRecorder(kube, component="bgpctl-operator", host=identity),
            options=ControllerOptions(
                metrics=controller_metrics_provider(), queue_metrics=queue_metrics_provider()
            ),
        )
        await manager.start()


def operator(
    kubeconfig: Kubeconfig = None,
    metrics_addr: MetricsAddr = _DEFAULTS.metrics_addr,
    health_addr: HealthAddr = "",
    leader_election_namespace: Annotated[
        str, typer.Option(help="Namespace of the leader election Lease 'bgpctl-peering'.")
    ] = _DEFAULTS.leader_election_namespace,
    identity: Annotated[
        str,
        typer.Option(
            envvar="POD_NAME", help="This replica's name in the Lease (default: host name)."
        ),
    ] = "",
    log_level: LogLevelOption = LogLevel.info,
    log_format: LogFormatOption = None,
) -> None:
    """Run the cluster-wide controllers (peering policies, gone endpoints, aggregate status)."""
    configure(level=log_level.value, fmt=log_format.value if log_format else None)
    asyncio.run(
        run_operator(
            OperatorOptions(
                kubeconfig=os.fspath(kubeconfig) if kubeconfig else None,
                metrics_addr=metrics_addr,
                health_addr=health_addr or metrics_addr,
                leader_election_namespace=leader_election_namespace,
                identity=identity,
            )
        )
    )
