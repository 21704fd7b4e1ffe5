"""Prometheus controller metrics, with controller-runtime's names, labels and buckets.

Mirrors controller-runtime pkg/internal/controller/metrics/metrics.go:
``controller_runtime_reconcile_total{controller,result}``,
``controller_runtime_reconcile_errors_total``,
``controller_runtime_terminal_reconcile_errors_total``,
``controller_runtime_reconcile_time_seconds`` (upstream's buckets, 5 ms .. 60 s),
``controller_runtime_max_concurrent_reconciles`` and
``controller_runtime_active_workers``, all labelled ``controller``. Implements the
runtime's ``ControllerMetricsProvider`` protocol by shape (no import of ``bgpctl.runtime``).

Upstream also counts panics; Python has none, so that family is left out. Upstream's
``controller_runtime_reconcile_timeouts_total{controller}`` counts reconciles cancelled
by the optional per-reconcile timeout.
"""

from __future__ import annotations

from functools import cache

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from bgpctl.metrics.registry import REGISTRY

_RECONCILE_TIME_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7,
    0.8, 0.9, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 7.0, 8.0, 9.0,
    10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0,
)  # fmt: skip


class PrometheusControllerMetricsProvider:
    """Creates the controller families on ``registry`` and hands out per-controller children.

    Create one per registry: a second instance on the same registry raises ``ValueError``.
    Children exist (at 0) from the moment they are handed out, as upstream's initMetrics.
    """

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.reconcile_total = Counter(
            "controller_runtime_reconcile_total",
            "Total number of reconciliations per controller",
            ("controller", "result"),
            registry=registry,
        )
        self.reconcile_errors = Counter(
            "controller_runtime_reconcile_errors_total",
            "Total number of reconciliation errors per controller",
            ("controller",),
            registry=registry,
        )
        self.terminal_reconcile_errors = Counter(
            "controller_runtime_terminal_reconcile_errors_total",
            "Total number of terminal reconciliation errors per controller",
            ("controller",),
            registry=registry,
        )
        self.reconcile_timeouts = Counter(
            "controller_runtime_reconcile_timeouts_total",
            "Total number of reconciliations cancelled by the reconcile timeout per controller",
            ("controller",),
            registry=registry,
        )
        self.reconcile_time = Histogram(
            "controller_runtime_reconcile_time_seconds",
            "Length of time per reconciliation per controller",
            ("controller",),
            buckets=_RECONCILE_TIME_BUCKETS,
            registry=registry,
        )
        self.max_concurrent_reconciles = Gauge(
            "controller_runtime_max_concurrent_reconciles",
            "Maximum number of concurrent reconciles per controller",
            ("controller",),
            registry=registry,
        )
        self.active_workers = Gauge(
            "controller_runtime_active_workers",
            "Number of currently used workers per controller",
            ("controller",),
            registry=registry,
        )

    def new_reconcile_total_metric(self, controller: str, result: str) -> Counter:
        """``controller_runtime_reconcile_total`` child."""
        return self.reconcile_total.labels(controller, result)

    def new_reconcile_errors_metric(self, controller: str) -> Counter:
        """``controller_runtime_reconcile_errors_total`` child."""
        return self.reconcile_errors.labels(controller)

    def new_terminal_reconcile_errors_metric(self, controller: str) -> Counter:
        """``controller_runtime_terminal_reconcile_errors_total`` child."""
        return self.terminal_reconcile_errors.labels(controller)

    def new_reconcile_timeouts_metric(self, controller: str) -> Counter:
        """``controller_runtime_reconcile_timeouts_total`` child."""
        return self.reconcile_timeouts.labels(controller)

    def new_reconcile_time_metric(self, controller: str) -> Histogram:
        """``controller_runtime_reconcile_time_seconds`` child."""
        return self.reconcile_time.labels(controller)

    def new_max_concurrent_reconciles_metric(self, controller: str) -> Gauge:
        """``controller_runtime_max_concurrent_reconciles`` child."""
        return self.max_concurrent_reconciles.labels(controller)

    def new_active_workers_metric(self, controller: str) -> Gauge:
        """``controller_runtime_active_workers`` child; set to 0 when handed out."""
        gauge = self.active_workers.labels(controller)
        gauge.set(0)
        return gauge


@cache
def controller_metrics_provider() -> PrometheusControllerMetricsProvider:
    """The process-wide provider on ``REGISTRY`` (created on first use)."""
    return PrometheusControllerMetricsProvider(REGISTRY)
