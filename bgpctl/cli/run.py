"""``bgp run``: the node agent (one per node, next to its gobgpd).

Builds the API client, the informer cache of the six kinds, the event recorder, the
GoBGP client and a manager with the metrics and probe servers, then adds the per-node
controllers (``bgpctl.controllers.setup``) and, unless ``--no-fib``, the FIB sync that
programs GoBGP's best paths into the kernel (``bgpctl.controllers.fibsync_runner``), and
runs until SIGTERM/SIGINT.

With leader election (the default) the agents of all nodes compete for the Lease
``bgpctl-peering`` in ``--leader-election-namespace``; only the holder runs the
peering-policy controller. The lock has an API client of its own, so renewals never
queue behind the controllers' traffic.

With ``--no-cluster-controllers`` the agent runs only the per-node controllers (the
cluster-wide ones run in ``bgp operator``): it never campaigns for the Lease, and its
cache holds only its own sessions (``bgpctl.controllers.nodecache``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Iterable
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
from bgpctl.controllers.fibsync_runner import DEFAULT_STALE_TIME, FibOptions
from bgpctl.controllers.nodecache import cluster_cache, node_cache
from bgpctl.controllers.operator import setup_cluster_controllers
from bgpctl.controllers.peeringpolicy import LEASE_NAME
from bgpctl.controllers.setup import setup_fib_sync, setup_node_agent
from bgpctl.gobgp.client import GoBGPClient
from bgpctl.log import configure
from bgpctl.metrics.controller import controller_metrics_provider
from bgpctl.metrics.leaderelection import leader_election_metrics
from bgpctl.metrics.server import probe_servers
from bgpctl.metrics.workqueue import queue_metrics_provider
from bgpctl.routesync import DEFAULT_PROTOCOL, MAIN_TABLE
from bgpctl.runtime.client.kube import KubeClient
from bgpctl.runtime.controller import ControllerOptions
from bgpctl.runtime.leaderelection import (
    DEFAULT_LEASE_DURATION,
    DEFAULT_RENEW_DEADLINE,
    DEFAULT_RETRY_PERIOD,
    new_identity,
)
from bgpctl.runtime.leaderelection.leaselock import LeaseLock
from bgpctl.runtime.manager import Manager, ManagerOptions
from bgpctl.runtime.recorder import EventRecorder

DEFAULT_GOBGP_TARGET = "127.0.0.1:50051"
SRV6_NET_ENV = "SRV6_NET"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    """Everything ``bgp run`` is told.

    Attributes:
        local_endpoint: Name of this node's BGPEndpoint.
        gobgp_target: gobgpd's gRPC API (loopback or ``unix://``).
        kubeconfig: Kubeconfig path; ``None`` means ``$KUBECONFIG``, in-cluster, ~/.kube.
        metrics_addr: ``host:port`` of /metrics; "" or "0" disables.
        health_addr: ``host:port`` of /healthz and /readyz; "" or "0" disables.
        handle_signals: Stop gracefully on SIGTERM/SIGINT.
        gobgp_connect_timeout: Seconds to wait for gobgpd at start.
        leader_elect: Compete for the peering-policy Lease; without it this agent runs
            the peering-policy controller unconditionally (one agent only!).
        leader_election_namespace: Namespace of the Lease ``bgpctl-peering``.
        lease_duration: Seconds a standby waits before taking over a silent leader's Lease.
        renew_deadline: Seconds the leader keeps trying to renew before it stops leading.
        retry_period: Seconds between acquire/renew attempts.
        fib: Program GoBGP's best paths into the kernel FIB.
        fib_protocol: Route protocol number of the FIB routes.
        fib_table: Kernel routing table of the FIB routes.
        fib_exclude: Networks never installed (containment), ``SRV6_NET`` included.
        fib_netns: Program this named network namespace instead of the agent's own.
        fib_stale_time: Seconds routes are kept as stale after a GoBGP resubscription.
        cluster_controllers: Also run the cluster-wide controllers (all-in-one); off
            when ``bgp operator`` runs them.
    """

    local_endpoint: str
    gobgp_target: str = DEFAULT_GOBGP_TARGET
    kubeconfig: str | None = None
    metrics_addr: str = "127.0.0.1:8086"
    health_addr: str = ""
    handle_signals: bool = True
    gobgp_connect_timeout: float = 60.0
    leader_elect: bool = True
    leader_election_namespace: str = "bgp-system"
    lease_duration: float = DEFAULT_LEASE_DURATION
    renew_deadline: float = DEFAULT_RENEW_DEADLINE
    retry_period: float = DEFAULT_RETRY_PERIOD
    fib: bool = True
    fib_protocol: int = DEFAULT_PROTOCOL
    fib_table: int = MAIN_TABLE
    fib_exclude: tuple[str, ...] = ()
    fib_netns: str | None = None
    fib_stale_time: float = DEFAULT_STALE_TIME
    cluster_controllers: bool = True

    def fib_options(self) -> FibOptions:
        """The FIB sync's options."""
        return FibOptions(
            protocol=self.fib_protocol,
            table=self.fib_table,
            exclude=self.fib_exclude,
            netns=self.fib_netns,
            stale_time=self.fib_stale_time,
        )


_DEFAULTS = RunOptions(local_endpoint="")
"""Where the command-line defaults come from: one place for each default."""


async def run_node_agent(options: RunOptions, *, gobgp: GoBGPClient | None = None) -> None:
    """Run the node agent until stopped (signal) or cancelled (hard stop).

    Args:
        options: See :class:`RunOptions`.
        gobgp: A GoBGP client to use instead of one for ``options.gobgp_target``
            (not yet connected; this function connects and closes it).
    """
    if options.kubeconfig:
        kube = await KubeClient.from_kubeconfig(
            options.kubeconfig, user_agent=f"bgpctl/{options.local_endpoint}"
        )
    else:
        kube = await KubeClient.from_environment(user_agent=f"bgpctl/{options.local_endpoint}")
    gobgp = gobgp or GoBGPClient(options.gobgp_target)
    async with kube, contextlib.AsyncExitStack() as stack:
        lock = None
        elect = options.leader_elect and options.cluster_controllers
        if elect:
            lock = await stack.enter_async_context(await _lease_lock(options))
        await gobgp.connect(connect_timeout=options.gobgp_connect_timeout)
        try:
            manager = Manager(
                ManagerOptions(
                    handle_signals=options.handle_signals,
                    leader_election=elect,
                    leader_election_id=LEASE_NAME,
                    leader_election_lost_is_fatal=False,  # only the leader's controllers stop
                    lease_duration=options.lease_duration,
                    renew_deadline=options.renew_deadline,
                    retry_period=options.retry_period,
                ),
                leader_election_lock=lock,
                leader_election_metrics=leader_election_metrics() if lock else None,
            )
            for server in probe_servers(
                metrics_bind_address=options.metrics_addr,
                health_probe_bind_address=options.health_addr,
                healthz=manager.healthz,
                readyz=manager.readyz,
            ):
                manager.add_server(server)
            recorder = EventRecorder(
                kube,
                component="bgpctl",
                host=options.local_endpoint or socket.gethostname(),
            )
            cache = (
                cluster_cache(kube)
                if options.cluster_controllers
                else node_cache(kube, options.local_endpoint)
            )
            controller_options = ControllerOptions(
                metrics=controller_metrics_provider(),
                queue_metrics=queue_metrics_provider(),
            )
            agent = setup_node_agent(
                manager,
                cache=cache,
                client=kube,
                gobgp=gobgp,
                recorder=recorder,
                local_endpoint=options.local_endpoint,
                options=controller_options,
            )
            if options.fib:
                setup_fib_sync(manager, gobgp=gobgp, options=options.fib_options(), agent=agent)
            if options.cluster_controllers:
                setup_cluster_controllers(
                    manager, cache=cache, client=kube, recorder=recorder, options=controller_options
                )
            await manager.start()
        finally:
            await gobgp.close()


async def _lease_lock(options: RunOptions) -> LeaseLock:
    """The peering-policy Lease lock, with an API client of its own.

    Its credentials are found as ``KubeClient.from_environment`` finds them.
    """
    identity = f"{options.local_endpoint}_{new_identity()}"
    namespace = options.leader_election_namespace
    kubeconfig = options.kubeconfig or os.environ.get("KUBECONFIG")
    if not kubeconfig and os.environ.get("KUBERNETES_SERVICE_HOST"):
        return LeaseLock.in_cluster(namespace=namespace, name=LEASE_NAME, identity=identity)
    return await LeaseLock.from_kubeconfig(
        kubeconfig or "~/.kube/config", namespace=namespace, name=LEASE_NAME, identity=identity
    )


def run(
    local_endpoint: Annotated[
        str,
        typer.Option(envvar="LOCAL_ENDPOINT", help="Name of this node's BGPEndpoint."),
    ],
    gobgp_target: Annotated[
        str, typer.Option(help="gobgpd gRPC API: 127.0.0.1:PORT or unix:///path.")
    ] = _DEFAULTS.gobgp_target,
    kubeconfig: Kubeconfig = None,
    metrics_addr: MetricsAddr = _DEFAULTS.metrics_addr,
    health_addr: HealthAddr = "",
    leader_elect: Annotated[
        bool,
        typer.Option(
            "--leader-elect/--no-leader-elect",
            help="Compete for the Lease that guards the peering-policy controller.",
        ),
    ] = _DEFAULTS.leader_elect,
    leader_election_namespace: Annotated[
        str, typer.Option(help="Namespace of the leader election Lease 'bgpctl-peering'.")
    ] = _DEFAULTS.leader_election_namespace,
    leader_election_lease_duration: Annotated[
        float,
        typer.Option(help="Seconds before a standby takes over a silent leader's Lease."),
    ] = _DEFAULTS.lease_duration,
    leader_election_renew_deadline: Annotated[
        float,
        typer.Option(help="Seconds the leader keeps retrying a renewal before it steps down."),
    ] = _DEFAULTS.renew_deadline,
    leader_election_retry_period: Annotated[
        float, typer.Option(help="Seconds between Lease acquire/renew attempts.")
    ] = _DEFAULTS.retry_period,
    fib: Annotated[
        bool,
        typer.Option(
            "--fib/--no-fib", help="Program GoBGP's best paths into the kernel routing table."
        ),
    ] = _DEFAULTS.fib,
    fib_protocol: Annotated[
        int, typer.Option(min=1, max=255, help="Route protocol number of the FIB routes.")
    ] = _DEFAULTS.fib_protocol,
    fib_table: Annotated[
        int, typer.Option(min=1, help="Kernel routing table of the FIB routes (254 = main).")
    ] = _DEFAULTS.fib_table,
    fib_exclude: Annotated[
        list[str] | None,
        typer.Option(
            metavar="CIDR",
            help="Network never installed, nor anything inside it (repeatable). "
            "$SRV6_NET is excluded too.",
        ),
    ] = None,
    fib_netns: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="Program the routes of this network namespace (/run/netns/NAME) instead "
            "of the agent's own (labs and tests).",
        ),
    ] = None,
    cluster_controllers: Annotated[
        bool,
        typer.Option(
            "--cluster-controllers/--no-cluster-controllers",
            help="Also run the cluster-wide controllers (all-in-one: labs, small clusters). "
            "Off when 'bgp operator' runs them: the agent then never campaigns and caches "
            "only its own sessions.",
        ),
    ] = _DEFAULTS.cluster_controllers,
    fib_stale_time: Annotated[
        float,
        typer.Option(
            min=0,
            help="Seconds the FIB keeps routes GoBGP lost (gobgpd restart) while it relearns.",
        ),
    ] = DEFAULT_STALE_TIME,
    log_level: LogLevelOption = LogLevel.info,
    log_format: LogFormatOption = None,
) -> None:
    """Run the node agent: reconcile the BGP resources into the local GoBGP."""
    configure(level=log_level.value, fmt=log_format.value if log_format else None)
    options = RunOptions(
        local_endpoint=local_endpoint,
        gobgp_target=gobgp_target,
        kubeconfig=os.fspath(kubeconfig) if kubeconfig else None,
        metrics_addr=metrics_addr,
        health_addr=health_addr or metrics_addr,
        leader_elect=leader_elect,
        leader_election_namespace=leader_election_namespace,
        lease_duration=leader_election_lease_duration,
        renew_deadline=leader_election_renew_deadline,
        retry_period=leader_election_retry_period,
        fib=fib,
        fib_protocol=fib_protocol,
        fib_table=fib_table,
        fib_exclude=fib_exclusions(fib_exclude or (), os.environ.get(SRV6_NET_ENV)),
        fib_netns=fib_netns or None,
        cluster_controllers=cluster_controllers,
        fib_stale_time=fib_stale_time,
    )
    try:
        options.fib_options().route_sync_options()
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--fib-exclude/--fib-protocol") from exc
    asyncio.run(run_node_agent(options))


def fib_exclusions(configured: Iterable[str], srv6_net: str | None) -> tuple[str, ...]:
    """The ``--fib-exclude`` networks plus ``$SRV6_NET`` (if set and not blank)."""
    networks = [network.strip() for network in configured if network.strip()]
    if srv6_net and srv6_net.strip():
        networks.append(srv6_net.strip())
    return tuple(dict.fromkeys(networks))
