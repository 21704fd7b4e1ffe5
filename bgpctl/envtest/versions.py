"""Pinned versions of the control-plane binaries, and where they are cached."""

from __future__ import annotations

import os
from pathlib import Path

KUBERNETES_VERSION = "v1.36.3"
"""k8s.io/kubernetes module version (kube-apiserver, kube-controller-manager, kubectl)."""

STAGING_VERSION = "v0.36.3"
"""Published version of every k8s.io staging module matching KUBERNETES_VERSION."""

ETCD_VERSION = "v3.6.16"
"""go.etcd.io/etcd/server/v3 version (the etcd line Kubernetes 1.36 is tested with)."""

CONTAINERD_VERSION = "v2.2.9"
"""github.com/containerd/containerd/v2 for the one-node cluster: 2.2 still supports
cgroup v1 (deprecated, kept until at least May 2029), which is all this machine has."""

CHAINSAW_VERSION = "v0.2.15"
"""github.com/kyverno/chainsaw version (v0.2.12–v0.2.14 do not compile with Go >= 1.25)."""

STAGING_MODULES = (
    "api",
    "apiextensions-apiserver",
    "apimachinery",
    "apiserver",
    "cli-runtime",
    "client-go",
    "cloud-provider",
    "cluster-bootstrap",
    "code-generator",
    "component-base",
    "component-helpers",
    "controller-manager",
    "cri-api",
    "cri-client",
    "cri-streaming",
    "csi-translation-lib",
    "dynamic-resource-allocation",
    "endpointslice",
    "externaljwt",
    "kms",
    "kube-aggregator",
    "kube-controller-manager",
    "kube-proxy",
    "kube-scheduler",
    "kubectl",
    "kubelet",
    "metrics",
    "mount-utils",
    "pod-security-admission",
    "sample-apiserver",
    "sample-cli-plugin",
    "sample-controller",
    "streaming",
)
"""Every module k8s.io/kubernetes maps to ./staging; each needs a replace line."""


def cache_root() -> Path:
    """``$BGPCTL_CACHE`` or ``$XDG_CACHE_HOME/bgpctl`` or ``~/.cache/bgpctl``."""
    if env := os.environ.get("BGPCTL_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bgpctl"
