"""Canonical text for addresses and prefixes, and containment matching.

Route keys are compared as text, so every prefix and address that enters the engine is
rewritten to the form ``ip route`` prints (``inet_ntop`` of the packed address, ``/len``).
A key built from a GoBGP path and one read back from the kernel then compare equal.
Parsing uses ``socket.inet_pton``; ``ipaddress.ip_network`` costs about 17 us per call,
which is too slow for a table of 100k routes.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable

AF_INET: int = int(socket.AF_INET)
AF_INET6: int = int(socket.AF_INET6)

_MAXLEN: dict[int, int] = {AF_INET: 32, AF_INET6: 128}


def address_family(text: str) -> int:
    """Return ``AF_INET6`` if ``text`` looks like an IPv6 address or prefix, else ``AF_INET``."""
    return AF_INET6 if ":" in text else AF_INET


def canonical_address(text: str) -> str:
    """Return the canonical text of an IPv4 or IPv6 address.

    Raises:
        ValueError: ``text`` is not an address.
    """
    family = address_family(text)
    try:
        return socket.inet_ntop(family, socket.inet_pton(family, text))
    except OSError as exc:
        raise ValueError(f"invalid address {text!r}") from exc


def parse_prefix(text: str) -> tuple[int, bytes, int]:
    """Parse ``addr/len`` (or a bare address, a host prefix) into family, packed address, length.

    Raises:
        ValueError: not a prefix, a length out of range, or host bits set.
    """
    addr, slash, length_text = text.partition("/")
    family = address_family(addr)
    maxlen = _MAXLEN[family]
    try:
        packed = socket.inet_pton(family, addr)
        length = int(length_text) if slash else maxlen
    except (OSError, ValueError) as exc:
        raise ValueError(f"invalid prefix {text!r}") from exc
    if not 0 <= length <= maxlen:
        raise ValueError(f"invalid prefix length in {text!r}")
    if length < maxlen and int.from_bytes(packed, "big") & ((1 << (maxlen - length)) - 1):
        raise ValueError(f"host bits set in {text!r}")
    return family, packed, length


def canonical_prefix(text: str) -> str:
    """Return the canonical text of a prefix (``2001:db8::/32``, ``192.0.2.0/24``).

    Raises:
        ValueError: see :func:`parse_prefix`.
    """
    family, packed, length = parse_prefix(text)
    return f"{socket.inet_ntop(family, packed)}/{length}"


class PrefixSet:
    """A set of networks answering "is this prefix inside one of them?".

    Lookups cost one set probe per distinct prefix length in the set, so a few hundred
    excluded networks cost the same as a few.
    """

    __slots__ = ("_keys", "_lengths", "_networks")

    def __init__(self, networks: Iterable[str] = ()) -> None:
        self._networks: frozenset[str] = frozenset(canonical_prefix(n) for n in networks)
        self._keys: set[tuple[int, int, int]] = set()
        lengths: dict[int, set[int]] = {AF_INET: set(), AF_INET6: set()}
        for network in self._networks:
            family, packed, length = parse_prefix(network)
            value = int.from_bytes(packed, "big") >> (_MAXLEN[family] - length)
            self._keys.add((family, length, value))
            lengths[family].add(length)
        self._lengths = {family: sorted(found) for family, found in lengths.items()}

    @property
    def networks(self) -> frozenset[str]:
        """The networks in canonical text."""
        return self._networks

    def __bool__(self) -> bool:
        return bool(self._keys)

    def __len__(self) -> int:
        return len(self._networks)

    def contains(self, prefix: str) -> bool:
        """Return whether ``prefix`` (canonical text) equals or lies inside a member network."""
        if not self._keys:
            return False
        family, packed, length = parse_prefix(prefix)
        value = int.from_bytes(packed, "big")
        maxlen = _MAXLEN[family]
        keys = self._keys
        for network_length in self._lengths[family]:
            if network_length > length:
                break
            if (family, network_length, value >> (maxlen - network_length)) in keys:
                return True
        return False
