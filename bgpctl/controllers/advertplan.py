"""What one node originates for the BGPAdvertisements: paths, export restrictions, outcomes.

Pure: the inputs are parsed from the cache, the outputs are applied to GoBGP and the
status by :mod:`bgpctl.controllers.advertisement`.

Rules:
- An advertisement applies to this node when its ``nodeSelector`` (none = every node)
  matches the labels of the node's BGPEndpoint.
- Each prefix is originated once, with the attributes of its *winner*: among the
  applicable advertisements that list it, the oldest (``creationTimestamp``, then name).
  Another advertisement listing the same prefix with the same attributes and
  ``peerSelector`` shares it; with different ones it loses, and its outcome says which
  advertisement won (reason ``Conflict``).
- The next hop is the node's endpoint address. For a prefix of the other family it is
  still that address (an IPv4 prefix with an IPv6 next hop, RFC 5549), as BIRD and FRR do.
- A winner with a ``peerSelector`` restricts its prefixes to the neighbors whose
  endpoints match; no match means no neighbor receives them (reason ``NoMatchingPeers``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bgpctl.api.meta import LabelSelector
from bgpctl.api.v1alpha1 import BGP_ADVERTISEMENT
from bgpctl.api.v1alpha1.advertisement import BGPAdvertisementSpec
from bgpctl.gobgp.types import Community, IPAddress, IPNetwork, LargeCommunity, Path

PATH_TAG = 0x62677063
"""Path identifier of every path bgpctl originates ("bgpc"); other local paths are foreign."""

WELL_KNOWN = {
    "graceful-shutdown": (0xFFFF, 0x0000),
    "blackhole": (0xFFFF, 0x029A),
    "no-export": (0xFFFF, 0xFF01),
    "no-advertise": (0xFFFF, 0xFF02),
    "no-export-subconfed": (0xFFFF, 0xFF03),
    "no-peer": (0xFFFF, 0xFF04),
}


@dataclass(frozen=True, slots=True)
class Advert:
    """A parsed advertisement with the metadata the rules need."""

    name: str
    created: str
    generation: int
    spec: BGPAdvertisementSpec

    @staticmethod
    def parse(raw: dict[str, Any]) -> Advert:
        """Raises ValueError (pydantic's) for a spec the models reject."""
        meta = raw.get("metadata") or {}
        return Advert(
            name=meta.get("name", ""),
            created=meta.get("creationTimestamp") or "",
            generation=int(meta.get("generation") or 0),
            spec=BGP_ADVERTISEMENT.parse(raw).spec,
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """This node's result for one advertisement (becomes its ``status.nodes[]`` entry)."""

    advertised: bool
    reason: str
    message: str
    prefixes: int
    generation: int


@dataclass(frozen=True, slots=True)
class Restriction:
    """Prefixes of one winner that only ``peers`` may receive."""

    advertisement: str
    prefixes: frozenset[IPNetwork]
    peers: frozenset[IPAddress]


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything this node should originate, and what to report."""

    paths: dict[IPNetwork, Path]
    restrictions: tuple[Restriction, ...]
    outcomes: dict[str, Outcome]
    owners: dict[IPNetwork, str]
    """The winning advertisement of each prefix in ``paths``."""


def communities(values: Iterable[str]) -> tuple[Community, ...]:
    """``ASN:value`` strings and well-known names as (asn, value) pairs (admission-checked)."""
    out = []
    for value in values:
        if value in WELL_KNOWN:
            out.append(WELL_KNOWN[value])
        else:
            high, low = value.split(":")
            out.append((int(high), int(low)))
    return tuple(out)


def large_communities(values: Iterable[str]) -> tuple[LargeCommunity, ...]:
    """``a:b:c`` strings as 3-tuples (admission-checked)."""
    out = []
    for value in values:
        a, b, c = (int(part) for part in value.split(":"))
        out.append((a, b, c))
    return tuple(out)


def _path(spec: BGPAdvertisementSpec, prefix: IPNetwork, next_hop: IPAddress) -> Path:
    return Path(
        prefix=prefix,
        next_hops=(next_hop,),
        med=spec.med,
        local_pref=spec.local_pref,
        communities=communities(spec.communities or ()),
        large_communities=large_communities(spec.large_communities or ()),
        identifier=PATH_TAG,
    )


def _selector_key(selector: LabelSelector | None) -> str:
    return "" if selector is None else selector.model_dump_json()


def plan(
    adverts: list[Advert],
    *,
    node_labels: dict[str, str],
    next_hop: IPAddress,
    peers_for: Callable[[LabelSelector], frozenset[IPAddress]],
) -> Plan:
    """Apply the module's rules; ``peers_for`` resolves a peerSelector on this node."""
    applicable = sorted(
        (
            a
            for a in adverts
            if a.spec.node_selector is None or a.spec.node_selector.matches(node_labels)
        ),
        key=lambda a: (a.created, a.name),
    )
    paths: dict[IPNetwork, Path] = {}
    winners: dict[IPNetwork, Advert] = {}
    won: dict[str, set[IPNetwork]] = {a.name: set() for a in applicable}
    lost: dict[str, list[tuple[IPNetwork, str]]] = {a.name: [] for a in applicable}
    for advert in applicable:
        selector = _selector_key(advert.spec.peer_selector)
        for text in advert.spec.prefixes:
            prefix = ipaddress.ip_network(text)
            path = _path(advert.spec, prefix, next_hop)
            winner = winners.get(prefix)
            if winner is None:
                winners[prefix], paths[prefix] = advert, path
                won[advert.name].add(prefix)
            elif paths[prefix] == path and _selector_key(winner.spec.peer_selector) == selector:
                won[advert.name].add(prefix)
            else:
                lost[advert.name].append((prefix, winner.name))
    restrictions = []
    outcomes: dict[str, Outcome] = {}
    for advert in applicable:
        mine = frozenset(p for p in won[advert.name] if winners[p].name == advert.name)
        peers: frozenset[IPAddress] | None = None
        if advert.spec.peer_selector is not None:
            peers = peers_for(advert.spec.peer_selector)
            if mine:
                restrictions.append(Restriction(advert.name, mine, peers))
        outcomes[advert.name] = _outcome(advert, len(won[advert.name]), lost[advert.name], peers)
    owners = {prefix: advert.name for prefix, advert in winners.items()}
    return Plan(paths, tuple(restrictions), outcomes, owners)


def _outcome(
    advert: Advert,
    count: int,
    lost: list[tuple[IPNetwork, str]],
    peers: frozenset[IPAddress] | None,
) -> Outcome:
    generation = advert.generation
    if lost:
        prefix, winner = lost[0]
        more = f" (and {len(lost) - 1} more prefixes)" if len(lost) > 1 else ""
        message = (
            f"prefix {prefix} is advertised with other attributes by BGPAdvertisement "
            f"{winner!r}, which is older and wins{more}"
        )
        return Outcome(False, "Conflict", message, count, generation)
    if peers is not None and not peers:
        message = "peerSelector matches no neighbor of this node; no peer receives the prefixes"
        return Outcome(True, "NoMatchingPeers", message, count, generation)
    to = "every neighbor" if peers is None else f"{len(peers)} neighbor(s)"
    return Outcome(
        True, "Advertised", f"{count} prefix(es) originated, sent to {to}", count, generation
    )
