"""bgpctl: a Kubernetes-native BGP control plane (CRDs -> GoBGP -> kernel FIB)."""

__version__ = "0.1.0"
