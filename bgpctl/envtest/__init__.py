"""A real Kubernetes control plane on loopback for tests and the local lab.

``binaries`` builds kube-apiserver, kube-controller-manager, kubectl and etcd from the
Go module proxy at pinned versions and caches them outside the repository;
``controlplane`` starts etcd and kube-apiserver (and optionally the controller
manager's garbage collector) on free loopback ports with RBAC and two identities.
"""

from bgpctl.envtest.binaries import Binaries, ensure_binaries
from bgpctl.envtest.controlplane import ControlPlane
from bgpctl.envtest.versions import ETCD_VERSION, KUBERNETES_VERSION

__all__ = ["ETCD_VERSION", "KUBERNETES_VERSION", "Binaries", "ControlPlane", "ensure_binaries"]
