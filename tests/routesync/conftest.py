"""Fixtures for routesync tests: a kernel namespace with a veth pair and local addresses."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from bgpctl.routesync.netlink import NetlinkRouteTable
from bgpctl.routesync.prefixes import canonical_prefix
from bgpctl.testing.netns import Lab, Netns


@dataclass(frozen=True)
class KernelNs:
    """A namespace with a veth pair whose ``a`` end holds the local addresses."""

    lab: Lab
    ns: Netns
    ifname: str

    def routes(self, *, protocol: str | None = None, table: str = "all") -> set[tuple[str, ...]]:
        """Routes as comparable tuples (family, table, dst, protocol, metric, next hops)."""
        found: set[tuple[str, ...]] = set()
        for family in ("-4", "-6"):
            args = ["-N", family, "-j", "route", "show", "table", table]
            if protocol is not None:
                args += ["proto", protocol]
            for entry in json.loads(self.ns.ip(*args).stdout or "[]"):
                hops = entry.get("nexthops") or [entry]
                nexthops = ",".join(
                    sorted(
                        str(h.get("gateway") or (h.get("via") or {}).get("host") or h.get("dev"))
                        for h in hops
                    )
                )
                found.add(
                    (
                        family,
                        str(entry.get("table", "254")),
                        _prefix(entry["dst"], family),
                        str(entry.get("protocol", "")),
                        str(entry.get("metric", 0)),
                        nexthops,
                    )
                )
        return found

    def foreign(self) -> set[tuple[str, ...]]:
        """Every route except protocol-196 routes of the main table."""
        return {r for r in self.routes() if not (r[3] == "196" and r[1] == "254")}


def _prefix(dst: str, family: str) -> str:
    if dst == "default":
        return "0.0.0.0/0" if family == "-4" else "::/0"
    return canonical_prefix(dst)


@pytest.fixture
def kernel_ns() -> Iterator[KernelNs]:
    """A fresh namespace ``bgpt-<run>-rs-k``: veth with 2001:db8:ff::1/64, 198.51.100.1/24."""
    with Lab() as lab:
        ns = lab.netns("rs-k")
        veth = lab.veth(ns, ns, a_addrs=["2001:db8:ff::1/64", "198.51.100.1/24"])
        # Link-local addresses appear asynchronously after link up; let them settle so
        # that before/after snapshots of the tables compare equal.
        deadline = time.monotonic() + 5.0
        while ns.ip("-6", "route", "show", "table", "local").stdout.count("local fe80::") < 2:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        yield KernelNs(lab, ns, veth.a_ifname)


@pytest.fixture
async def netlink_table(kernel_ns: KernelNs) -> AsyncIterator[NetlinkRouteTable]:
    table = NetlinkRouteTable(protocol=196, netns=kernel_ns.ns.name)
    async with table:
        yield table
