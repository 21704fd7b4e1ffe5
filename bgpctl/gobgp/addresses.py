"""Fast text <-> ``ipaddress`` conversions for the path codec's hot loop.

``ipaddress.ip_network("…/64")`` and ``str(IPv6Address)`` cost tens of microseconds each
in pure Python, more than all the protobuf work for a path. Prefixes are parsed with
``socket.inet_pton`` into an integer (about 5x faster) and printed with
``socket.inet_ntop``; next hops and neighbor addresses repeat across paths, so they are
memoised (bounded LRU). Semantics are unchanged: invalid text raises ``ValueError``, a
prefix with host bits set is rejected.
"""

from __future__ import annotations

import functools
import ipaddress
import socket

from bgpctl.gobgp.types import IPAddress, IPNetwork

_CACHE = 4096


def parse_network(text: str, length: int) -> IPNetwork:
    """``text``/``length`` as a network (strict: host bits must be clear).

    Raises:
        ValueError: Not an address, bad length, or host bits set.
    """
    family = socket.AF_INET6 if ":" in text else socket.AF_INET
    try:
        packed = socket.inet_pton(family, text)
    except OSError as exc:
        raise ValueError(f"invalid address {text!r}") from exc
    value = int.from_bytes(packed, "big")
    if family == socket.AF_INET6:
        return ipaddress.IPv6Network((value, length))
    return ipaddress.IPv4Network((value, length))


@functools.lru_cache(maxsize=_CACHE)
def parse_address(text: str) -> IPAddress:
    """``ipaddress.ip_address(text)``, memoised.

    Raises:
        ValueError: Not an address.
    """
    return ipaddress.ip_address(text)


@functools.lru_cache(maxsize=_CACHE)
def address_text(address: IPAddress) -> str:
    """``str(address)``, memoised."""
    return str(address)


def network_address_text(network: IPNetwork) -> str:
    """The canonical text of ``network``'s address (``str`` without the Python cost)."""
    family = socket.AF_INET6 if network.version == 6 else socket.AF_INET
    return socket.inet_ntop(family, network.network_address.packed)
