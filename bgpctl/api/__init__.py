"""API types of bgp.miloapis.com: typed models and the CRD schema generator.

The models in :mod:`bgpctl.api.v1alpha1` are the single source of truth: the CRD
manifests under ``manifests/crds`` are generated from them (``make manifests``).
This package is the only importer of pydantic.
"""
