"""Prometheus metrics for the process: the only package that imports prometheus_client.

``registry.REGISTRY`` is the one registry served on /metrics. ``workqueue`` and
``controller`` implement the runtime's metric-provider protocols by shape, so this package
stays a leaf: it never imports ``bgpctl.runtime``.
"""

from bgpctl.metrics.controller import (
    PrometheusControllerMetricsProvider,
    controller_metrics_provider,
)
from bgpctl.metrics.registry import REGISTRY, new_registry
from bgpctl.metrics.workqueue import PrometheusQueueMetricsProvider, queue_metrics_provider

__all__ = [
    "REGISTRY",
    "PrometheusControllerMetricsProvider",
    "PrometheusQueueMetricsProvider",
    "controller_metrics_provider",
    "new_registry",
    "queue_metrics_provider",
]
