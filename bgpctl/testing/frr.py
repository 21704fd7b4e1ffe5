"""An FRR ``bgpd`` inside a lab namespace: a third-party BGP peer for tests.

Runs Debian's ``/usr/lib/frr/bgpd`` without zebra (``--no_zebra``: it only speaks BGP,
it never touches routes), as root (``--skip_runas``), with every file — config, pid,
vty socket, log — in a scratch directory of its own, so nothing is written to
``/etc/frr`` or ``/var/run/frr``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from bgpctl.testing.netns import Netns

BGPD = Path("/usr/lib/frr/bgpd")
VTYSH = Path("/usr/bin/vtysh")


@dataclass(eq=False)
class FrrBgpd:
    """One bgpd in ``netns`` configured by ``config`` (bgpd.conf text)."""

    netns: Netns
    workdir: Path
    config: str
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def available(self) -> bool:
        """Whether FRR is installed."""
        return BGPD.exists()

    def start(self, *, ready_timeout: float = 15.0) -> None:
        """Write the config and start bgpd; wait until its vty socket exists."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "bgpd.conf"
        conf.write_text(self.config)
        sock = self.workdir / "bgpd.vty"
        with contextlib.suppress(FileNotFoundError):
            sock.unlink()
        argv = self.netns.exec_args(
            str(BGPD),
            "--no_zebra",
            "--skip_runas",
            "-f",
            str(conf),
            "-i",
            str(self.workdir / "bgpd.pid"),
            "--vty_socket",
            str(self.workdir),
            "-A",
            "127.0.0.1",
            "-P",
            "0",
            "--log",
            f"file:{self.workdir / 'bgpd.log'}",
        )
        with open(self.workdir / "stdout.log", "ab") as out:
            self.process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
            )
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"bgpd exited with {self.process.returncode}: {self.log_tail()}")
            if sock.exists():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"bgpd did not start within {ready_timeout}s: {self.log_tail()}")

    def vtysh(self, command: str) -> str:
        """Run one vtysh command against this bgpd."""
        proc = subprocess.run(
            [str(VTYSH), "--vty_socket", str(self.workdir), "-c", command],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return proc.stdout + proc.stderr

    def stop(self) -> None:
        """Kill bgpd (no-op if not running)."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of bgpd's log."""
        try:
            text = (self.workdir / "bgpd.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
