"""Async client for the GoBGP sidecar (gobgpd) over gRPC.

Modules: ``client`` (``GoBGPClient``), ``types`` and ``policy`` (value types),
``errors`` (``GoBGPError`` tree), ``convert*`` (pure protobuf conversions),
``connection`` (channel, health, generation) and ``streams`` (self-healing watches).
``_proto`` is generated from ``protos/`` by ``protos/generate.py``. This is the only
package that imports ``grpc``; nothing here imports the rest of bgpctl.
"""
