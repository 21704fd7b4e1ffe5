"""Routers of a test's own on one LAN with the root network namespace (a real node).

A node of :mod:`bgpctl.testing.node` runs its pod in the host network, so the routers it
peers with must be reachable from the root namespace. :class:`HostLan` makes a bridge
there with the node's address and, per router, a namespace joined to the bridge by a
veth, with a gobgpd that listens on port 179 and has the node as its only neighbor::

    with Lab() as lab, HostLan(lab, "2001:db8:11::1/64") as lan:
        peer = lan.router("ebgp", "2001:db8:11::2", asn=64514, node_asn=64512,
                          router_id="198.51.100.2", originate=("2001:db8:eb::/48",))

The routers never open the connection (the node's speaker listens on another port than
179), so the node's outgoing connection, from the bridge address, is the session: its
source is the address the routers know. Everything is removed on ``close()``: the
bridge and its veth ends, and with the lab, the namespaces and daemons. Documentation
addresses only.
"""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from bgpctl.lab.netns import ip
from bgpctl.testing.netns import GoBGPD, Lab


@dataclass(frozen=True, slots=True)
class Router:
    """One router on the LAN: its gobgpd, address and AS."""

    name: str
    address: str
    asn: int
    gobgpd: GoBGPD

    def gobgp(self, *args: str, check: bool = True) -> str:
        """Run the ``gobgp`` CLI against this router and return its output."""
        return subprocess.run(
            ["gobgp", "--target", self.gobgpd.target, *args],
            capture_output=True, text=True, check=check, timeout=30,
        ).stdout  # fmt: skip

    def established_with(self, address: str) -> bool:
        """Whether this router's session with ``address`` is Established."""
        return "bgp state = established" in self.gobgp("neighbor", address, check=False).lower()


class HostLan:
    """A bridge in the root namespace holding ``node_cidr``, and routers behind it."""

    def __init__(self, lab: Lab, node_cidr: str) -> None:
        self.lab = lab
        self.node_cidr = ipaddress.ip_interface(node_cidr)
        self.bridge = f"bgpb{lab.run_id[-4:]}"
        self.routers: list[Router] = []
        self._ports: list[str] = []

    @property
    def node_address(self) -> str:
        """The node's address on the LAN."""
        return str(self.node_cidr.ip)

    def __enter__(self) -> HostLan:
        ip("link", "add", self.bridge, "type", "bridge")
        family = [] if self.node_cidr.version == 4 else ["nodad"]
        ip("addr", "add", str(self.node_cidr), "dev", self.bridge, *family)
        ip("link", "set", self.bridge, "up")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove the veth ends and the bridge (the routes through it go with them)."""
        for port in self._ports:
            ip("link", "del", port, check=False)
        ip("link", "del", self.bridge, check=False)

    def router(
        self,
        name: str,
        address: str,
        *,
        asn: int,
        node_asn: int,
        router_id: str,
        originate: Sequence[str] = (),
    ) -> Router:
        """A namespace on the LAN with a gobgpd at ``address`` peering with the node.

        ``originate``: prefixes the router announces, with itself as next hop.
        """
        ns = self.lab.netns(name)
        port = f"{self.bridge}p{len(self._ports)}"
        ip("link", "add", port, "type", "veth", "peer", "eth0", "netns", ns.name)
        self._ports.append(port)
        ip("link", "set", port, "master", self.bridge, "up")
        ns.add_address("eth0", f"{address}/{self.node_cidr.network.prefixlen}")
        ns.ip("link", "set", "eth0", "up")
        router = Router(name, address, asn, self.lab.gobgpd(ns))
        router.gobgp("global", "as", str(asn), "router-id", router_id, "listen-port", "179")
        router.gobgp("neighbor", "add", self.node_address, "as", str(node_asn))
        family = "ipv4" if self.node_cidr.version == 4 else "ipv6"
        for prefix in originate:
            router.gobgp("global", "rib", "add", "-a", family, prefix, "nexthop", address)
        self.routers.append(router)
        return router
