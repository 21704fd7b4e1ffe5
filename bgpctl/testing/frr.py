"""FRR (zebra + bgpd) inside a network namespace, for interop tests.

Everything lives in a scratch directory (config, pid files, vty sockets, logs); nothing
is written to /etc/frr or /var/run/frr. zebra runs as ``frr`` (it refuses root without
the vty group) with a large netlink buffer; bgpd runs as root with ``--skip_runas``.
Use ``vtysh(...)`` for commands; never ``write memory``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from ipaddress import ip_network
from pathlib import Path
from typing import Any

from bgpctl.testing.netns import Netns

FRR_LIB = Path("/usr/lib/frr")


def available() -> bool:
    """True when FRR's zebra, bgpd and vtysh are installed."""
    return (
        (FRR_LIB / "zebra").exists() and (FRR_LIB / "bgpd").exists() and bool(shutil.which("vtysh"))
    )


@dataclass(eq=False)
class FRR:
    """zebra + bgpd in ``netns`` with ``bgpd_conf``; ``start()``, ``vtysh()``, ``stop()``."""

    netns: Netns
    workdir: Path
    bgpd_conf: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list, repr=False)

    @property
    def run_dir(self) -> Path:
        return self.workdir / "run"

    def start(self, *, timeout: float = 20.0) -> None:
        """Start zebra, then bgpd, and wait until vtysh answers.

        Raises:
            RuntimeError: A daemon exited or vtysh did not answer in time.
        """
        self.run_dir.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.workdir, "frr", "frr")
        shutil.chown(self.run_dir, "frr", "frr")
        zebra_conf = self.workdir / "zebra.conf"
        zebra_conf.write_text("hostname frr\n!\n")
        bgpd_conf = self.workdir / "bgpd.conf"
        bgpd_conf.write_text(self.bgpd_conf)
        for path in (zebra_conf, bgpd_conf):
            shutil.chown(path, "frr", "frr")
        common = [
            "-z",
            str(self.run_dir / "zserv.api"),
            "--vty_socket",
            str(self.run_dir),
            "-A",
            "127.0.0.1",
            "-P",
            "0",
        ]
        zebra = [
            str(FRR_LIB / "zebra"),
            "-u",
            "frr",
            "-g",
            "frr",
            "-s",
            "90000000",
            "-f",
            str(zebra_conf),
            "-i",
            str(self.run_dir / "zebra.pid"),
            *common,
        ]
        bgpd = [
            str(FRR_LIB / "bgpd"),
            "-S",
            "-f",
            str(bgpd_conf),
            "-i",
            str(self.run_dir / "bgpd.pid"),
            *common,
        ]
        self._spawn(zebra, "zebra")
        self._wait(lambda: (self.run_dir / "zserv.api").exists(), "zebra", timeout)
        self._spawn(bgpd, "bgpd")
        self._wait(
            lambda: self.vtysh("show bgp summary", check=False).returncode == 0, "bgpd", timeout
        )

    def _spawn(self, argv: list[str], name: str) -> None:
        with (self.workdir / f"{name}.log").open("ab") as log:
            self.processes.append(
                subprocess.Popen(
                    self.netns.exec_args(*argv),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )
            )

    def _wait(self, check: object, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.processes):
                raise RuntimeError(f"FRR {what} exited:\n{self.log_tail()}")
            if check():  # type: ignore[operator]
                return
            time.sleep(0.1)
        raise RuntimeError(f"FRR {what} not ready within {timeout}s:\n{self.log_tail()}")

    def vtysh(self, *commands: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run vtysh commands (each one ``-c``) against this FRR."""
        argv = ["vtysh", "--vty_socket", str(self.run_dir)]
        for command in commands:
            argv += ["-c", command]
        return subprocess.run(
            self.netns.exec_args(*argv), capture_output=True, text=True, timeout=30, check=check
        )

    def stop(self) -> None:
        """Kill bgpd and zebra."""
        for proc in reversed(self.processes):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self.processes.clear()

    def json(self, command: str) -> Any:
        """A vtysh ``... json`` command's decoded output (None when it fails)."""
        result = self.vtysh(command, check=False)
        if result.returncode != 0:
            return None
        try:
            return json.loads(result.stdout or "null")
        except json.JSONDecodeError:
            return None

    def route(self, prefix: str) -> dict[str, Any] | None:
        """``show bgp <family> unicast <prefix> json``: the prefix's paths, or None."""
        family = "ipv6" if ip_network(prefix).version == 6 else "ipv4"
        out = self.json(f"show bgp {family} unicast {prefix} json")
        return out if isinstance(out, dict) and out.get("paths") else None

    def established(self, address: str) -> bool:
        """Whether the session to ``address`` is Established."""
        out = self.json(f"show bgp neighbors {address} json") or {}
        return bool((out.get(address) or {}).get("bgpState") == "Established")

    def log_tail(self, lines: int = 30) -> str:
        out = []
        for name in ("zebra", "bgpd"):
            path = self.workdir / f"{name}.log"
            if path.exists():
                out.append(f"--- {name}\n" + "\n".join(path.read_text().splitlines()[-lines:]))
        return "\n".join(out)


@dataclass(frozen=True, slots=True)
class FRRNeighbor:
    """One BGP neighbor of an FRR router (for :func:`bgpd_config`)."""

    address: str
    remote_as: int
    port: int = 179


def bgpd_config(
    asn: int, router_id: str, neighbors: list[FRRNeighbor], networks: tuple[str, ...] = ()
) -> str:
    """A bgpd.conf: the neighbors in both unicast families, ``networks`` originated.

    eBGP works without route maps (``no bgp ebgp-requires-policy``); ``networks`` need no
    route in the RIB (``no bgp network import-check``); extended next hop lets an IPv4
    prefix use an IPv6 next hop (RFC 5549).
    """
    lines = [
        "hostname frr",
        "!",
        f"router bgp {asn}",
        f" bgp router-id {router_id}",
        " no bgp ebgp-requires-policy",
        " no bgp default ipv4-unicast",
        " no bgp network import-check",
    ]
    for n in neighbors:
        lines += [
            f" neighbor {n.address} remote-as {n.remote_as}",
            f" neighbor {n.address} port {n.port}",
            f" neighbor {n.address} timers connect 2",
            f" neighbor {n.address} capability extended-nexthop",
        ]
    for family, version in (("ipv6", 6), ("ipv4", 4)):
        lines.append(f" address-family {family} unicast")
        lines += [f"  neighbor {n.address} activate" for n in neighbors]
        lines += [f"  network {p}" for p in networks if ip_network(p).version == version]
        lines.append(" exit-address-family")
    return "\n".join([*lines, "!", ""])
