"""Prometheus leader-election metric, with controller-runtime's name and label.

Mirrors controller-runtime ``pkg/metrics/leaderelection.go``:
``leader_election_master_status{name}`` is 1 while this process holds the lease
``name`` and 0 while it is a standby. Implements the runtime's ``SwitchMetric``
protocol by shape (no import of ``bgpctl.runtime``).

Upstream also counts slow-path renewals (``leader_election_slowpath_total``); we leave
it out until someone needs it.
"""

from __future__ import annotations

from functools import cache

from prometheus_client import CollectorRegistry, Gauge

from bgpctl.metrics.registry import REGISTRY


class PrometheusLeaderElectionMetrics:
    """The ``leader_election_master_status`` gauge on ``registry``.

    Create one per registry: a second instance on the same registry raises ``ValueError``.
    """

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.master_status = Gauge(
            "leader_election_master_status",
            "1 if this process holds the named leader election lease, 0 if it is a standby",
            ("name",),
            registry=registry,
        )

    def on(self, name: str) -> None:
        """This process now leads ``name``."""
        self.master_status.labels(name).set(1)

    def off(self, name: str) -> None:
        """This process does not lead ``name``."""
        self.master_status.labels(name).set(0)


@cache
def leader_election_metrics() -> PrometheusLeaderElectionMetrics:
    """The process-wide instance on ``REGISTRY`` (created on first use)."""
    return PrometheusLeaderElectionMetrics(REGISTRY)
