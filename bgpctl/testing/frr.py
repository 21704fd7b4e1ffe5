"""FRR (zebra + bgpd) inside a network namespace, for interop tests.

Everything lives in a scratch directory (config, pid files, vty sockets, logs); nothing
is written to /etc/frr or /var/run/frr. zebra runs as ``frr`` (it refuses root without
the vty group) with a large netlink buffer; bgpd runs as root with ``--skip_runas``.
Use ``vtysh(...)`` for commands; never ``write memory``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

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

    def log_tail(self, lines: int = 30) -> str:
        out = []
        for name in ("zebra", "bgpd"):
            path = self.workdir / f"{name}.log"
            if path.exists():
                out.append(f"--- {name}\n" + "\n".join(path.read_text().splitlines()[-lines:]))
        return "\n".join(out)
