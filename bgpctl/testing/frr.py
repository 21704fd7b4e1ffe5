"""An FRR router (zebra + bgpd) inside a test network namespace, for interop tests.

Everything FRR writes lives in a work directory of the test's own (config, pid files,
sockets, logs); nothing goes to /etc/frr or /run/frr. zebra runs as the ``frr`` user
(it refuses root without the ``frrvty`` group) with a large netlink buffer; bgpd runs
as root with ``--skip_runas``. Prefixes in ``networks`` are originated without a route
in the RIB (``no bgp network import-check``).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from ipaddress import ip_network
from pathlib import Path
from typing import Any

from bgpctl.testing.netns import Netns

ZEBRA = Path("/usr/lib/frr/zebra")
BGPD = Path("/usr/lib/frr/bgpd")


@dataclass(frozen=True, slots=True)
class FRRNeighbor:
    """One BGP neighbor of the FRR router."""

    address: str
    remote_as: int
    port: int = 179


@dataclass
class FRR:
    """A running FRR in ``netns``; see the module docstring.

    The work directory is a fresh one under the system temp directory: zebra runs as
    ``frr`` and must reach it, which a root-only parent (pytest's ``tmp_path``) forbids.
    ``stop()`` removes it.
    """

    netns: Netns
    asn: int
    router_id: str
    neighbors: list[FRRNeighbor]
    networks: list[str] = field(default_factory=list)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bgpt-frr-")))

    def start(self, *, timeout: float = 15.0) -> None:
        """Write the configuration and start zebra and bgpd; wait for vtysh to answer."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        frr = pwd.getpwnam("frr")
        os.chown(self.workdir, frr.pw_uid, frr.pw_gid)
        (self.workdir / "zebra.conf").write_text(
            f"hostname frr\nlog file {self.workdir}/zebra.log\n"
        )
        (self.workdir / "bgpd.conf").write_text(self.config())
        for name in ("zebra.log", "bgpd.log"):
            path = self.workdir / name
            path.touch()
            os.chown(path, frr.pw_uid, frr.pw_gid)
        common = [
            "-z",
            str(self.workdir / "zserv.api"),
            "--vty_socket",
            str(self.workdir),
            "-A",
            "127.0.0.1",
            "-P",
            "0",
        ]
        zebra = [
            str(ZEBRA),
            "-d",
            "-u",
            "frr",
            "-g",
            "frr",
            "-s",
            "90000000",
            "-f",
            str(self.workdir / "zebra.conf"),
            "-i",
            str(self.workdir / "zebra.pid"),
            *common,
        ]
        bgpd = [
            str(BGPD),
            "-d",
            "-S",
            "-f",
            str(self.workdir / "bgpd.conf"),
            "-i",
            str(self.workdir / "bgpd.pid"),
            *common,
        ]
        self.netns.run(*zebra)
        self._wait(lambda: (self.workdir / "zserv.api").exists(), timeout, "zebra")
        self.netns.run(*bgpd)
        self._wait(
            lambda: self.vtysh("show bgp summary json", check=False) is not None, timeout, "bgpd"
        )

    def config(self) -> str:
        """bgpd.conf for this router."""
        lines = [
            "hostname frr",
            f"log file {self.workdir}/bgpd.log informational",
            "!",
            f"router bgp {self.asn}",
            f" bgp router-id {self.router_id}",
            " no bgp ebgp-requires-policy",
            " no bgp default ipv4-unicast",
            " no bgp network import-check",
        ]
        for n in self.neighbors:
            lines += [
                f" neighbor {n.address} remote-as {n.remote_as}",
                f" neighbor {n.address} port {n.port}",
                f" neighbor {n.address} timers connect 2",
                f" neighbor {n.address} capability extended-nexthop",
            ]
        for family, version in (("ipv6", 6), ("ipv4", 4)):
            lines.append(f" address-family {family} unicast")
            lines += [f"  neighbor {n.address} activate" for n in self.neighbors]
            lines += [f"  network {p}" for p in self.networks if ip_network(p).version == version]
            lines.append(" exit-address-family")
        return "\n".join([*lines, "!", ""])

    def vtysh(self, command: str, *, check: bool = True) -> Any:
        """Run a vtysh command ending in ``json`` and return its decoded output."""
        result = self.netns.run(
            "vtysh", "--vty_socket", str(self.workdir), "-c", command, check=False
        )
        if result.returncode != 0:
            if check:
                raise RuntimeError(f"vtysh {command!r}: {result.stderr or result.stdout}")
            return None
        try:
            return json.loads(result.stdout or "null")
        except json.JSONDecodeError:
            if check:
                raise
            return None

    def route(self, prefix: str) -> dict[str, Any] | None:
        """``show bgp <family> unicast <prefix> json``: the prefix's paths, or None."""
        family = "ipv6" if ip_network(prefix).version == 6 else "ipv4"
        out = self.vtysh(f"show bgp {family} unicast {prefix} json", check=False)
        return out if out and out.get("paths") else None

    def established(self, address: str) -> bool:
        """Whether the session to ``address`` is Established."""
        out = self.vtysh(f"show bgp neighbors {address} json", check=False) or {}
        return (out.get(address) or {}).get("bgpState") == "Established"

    def stop(self) -> None:
        """Kill bgpd and zebra and remove the work directory."""
        for name in ("bgpd.pid", "zebra.pid"):
            with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
                os.kill(int((self.workdir / name).read_text().strip()), signal.SIGKILL)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        """The end of bgpd's log (for failure messages)."""
        with contextlib.suppress(FileNotFoundError):
            return "\n".join((self.workdir / "bgpd.log").read_text().splitlines()[-lines:])
        return ""

    @staticmethod
    def available() -> bool:
        """FRR's daemons and vtysh are installed."""
        return ZEBRA.exists() and BGPD.exists() and shutil.which("vtysh") is not None

    def _wait(self, check: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.1)
        raise RuntimeError(f"FRR {what} did not start:\n{self.log_tail()}")
