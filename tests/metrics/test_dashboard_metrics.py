"""Every metric the Grafana dashboard queries is one bgpctl exports (by name)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import CollectorRegistry

from bgpctl.metrics.bgp import BGPMetrics
from bgpctl.metrics.controller import PrometheusControllerMetricsProvider
from bgpctl.metrics.leaderelection import PrometheusLeaderElectionMetrics
from bgpctl.metrics.workqueue import PrometheusQueueMetricsProvider

DASHBOARD = Path(__file__).parents[2] / "manifests" / "grafana" / "bgpctl-dashboard.json"
_PROMQL_WORDS = {
    "sum",
    "max",
    "min",
    "avg",
    "by",
    "without",
    "rate",
    "increase",
    "histogram_quantile",
    "le",
    "instance",
    "session",
    "state",
    "controller",
    "name",
}


def exported_names() -> set[str]:
    registry = CollectorRegistry()
    BGPMetrics(registry)
    PrometheusControllerMetricsProvider(registry)
    PrometheusQueueMetricsProvider(registry)
    PrometheusLeaderElectionMetrics(registry)
    names: set[str] = set()
    for family in registry.collect():
        suffixes = {
            "counter": ("_total",),
            "histogram": ("_bucket", "_count", "_sum"),
            "summary": ("_count", "_sum"),
        }.get(family.type, ("",))
        names.update(family.name + s for s in suffixes)
    return names


def queried_names() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    names: set[str] = set()
    for expr in exprs:
        bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", "", expr)
        names.update(
            w for w in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", bare) if w not in _PROMQL_WORDS
        )
    return names


def test_every_queried_metric_is_exported() -> None:
    queried = queried_names()
    assert "bgp_session_up" in queried and "bgp_fib_sync_duration_seconds_bucket" in queried
    assert queried - exported_names() == set()


def test_dashboard_covers_the_bgp_families() -> None:
    bgp = {
        n for n in exported_names() if n.startswith("bgp_") and not n.endswith(("_count", "_sum"))
    }
    assert bgp - queried_names() == set()
