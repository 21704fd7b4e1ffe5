"""The process's one Prometheus registry.

Mirrors controller-runtime pkg/metrics/registry.go (``metrics.Registry``), which also
registers process and Go runtime collectors; we register prometheus_client's process,
platform and garbage-collector collectors, their Python counterparts. Every family of
``bgpctl`` is created on ``REGISTRY`` unless a test passes its own registry.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector


def new_registry(*, process_collectors: bool = True) -> CollectorRegistry:
    """A fresh registry, with the process/platform/GC collectors unless told otherwise."""
    registry = CollectorRegistry(auto_describe=True)
    if process_collectors:
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
    return registry


REGISTRY: Final[CollectorRegistry] = new_registry()
"""The registry served on /metrics."""
