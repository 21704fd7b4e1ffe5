"""Which of this node's neighbors a ``peerSelector`` selects (read from the cache).

A node's neighbors are the other ends of the sessions it is part of; a selector matches
the labels of those BGPEndpoints. The result is the set of neighbor addresses, which is
what GoBGP's neighbor sets match on.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from bgpctl.api.meta import LabelSelector
from bgpctl.controllers.resources import BGP_ENDPOINTS, BGP_SESSIONS
from bgpctl.controllers.sessionpeer import ENDPOINT_INDEX
from bgpctl.gobgp.types import IPAddress
from bgpctl.runtime.cache.informers import InformerCache


@dataclass(frozen=True, slots=True)
class Neighbor:
    """The other end of one of this node's sessions."""

    endpoint: str
    address: IPAddress
    labels: dict[str, str]


def neighbors(cache: InformerCache, me: str) -> list[Neighbor]:
    """The other ends of this node's live sessions whose endpoint exists, by name."""
    sessions = cache.get_informer(BGP_SESSIONS).indexer.by_index(ENDPOINT_INDEX, me)
    endpoints = cache.get_informer(BGP_ENDPOINTS).indexer
    out: dict[str, Neighbor] = {}
    for session in sessions:
        if (session.get("metadata") or {}).get("deletionTimestamp"):
            continue
        spec = session.get("spec") or {}
        local, remote = spec.get("localEndpoint"), spec.get("remoteEndpoint")
        other = remote if local == me else local
        if not isinstance(other, str) or other == me or other in out:
            continue
        endpoint = endpoints.get_by_key(other)
        if endpoint is None:
            continue
        neighbor = _neighbor(endpoint)
        if neighbor is not None:
            out[other] = neighbor
    return [out[name] for name in sorted(out)]


def selected(candidates: list[Neighbor], selector: LabelSelector | None) -> frozenset[IPAddress]:
    """Addresses of the ``candidates`` that ``selector`` matches (all without one)."""
    return frozenset(
        n.address for n in candidates if selector is None or selector.matches(n.labels)
    )


def _neighbor(endpoint: dict[str, Any]) -> Neighbor | None:
    meta = endpoint.get("metadata") or {}
    try:
        address = ipaddress.ip_address((endpoint.get("spec") or {}).get("address", ""))
    except ValueError:
        return None
    return Neighbor(meta.get("name", ""), address, dict(meta.get("labels") or {}))
