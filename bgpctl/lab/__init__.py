"""``bgp lab``: a whole local lab in one process tree.

A real control plane (``bgpctl.envtest``), N nodes as network namespaces on one L2
segment, a gobgpd in each and a ``bgp run`` per node, a full-mesh topology applied and
watched until every session is Established. ``bgpctl.lab`` is production code: it never
imports ``bgpctl.testing``.
"""

from bgpctl.lab.lab import LocalLab, NodeSpec
from bgpctl.lab.topology import LAB_LABEL, topology

__all__ = ["LAB_LABEL", "LocalLab", "NodeSpec", "topology"]
