"""Drill helpers: real ``bgp run`` processes, ``ip monitor route`` recorders, metric scrapes.

``AgentProcess`` runs ``python -m bgpctl run`` as its own process (so SIGTERM and kill -9
are real), logging to a file. ``RouteMonitor`` runs ``ip -n NS monitor route`` and
counts the kernel's route notifications (``Deleted ...`` lines are removals).
``scrape`` reads one agent's Prometheus ``/metrics``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(eq=False)
class AgentProcess:
    """One ``bgp run`` process; ``start()`` again after ``terminate()`` or ``kill()``.

    Attributes:
        endpoint: ``--local-endpoint``.
        gobgp_target: ``--gobgp-target``.
        kubeconfig: ``--kubeconfig``.
        log_path: stdout/stderr, appended across restarts.
        fib_netns: ``--fib-netns`` (``None``: ``--no-fib``).
        extra: More arguments.
    """

    endpoint: str
    gobgp_target: str
    kubeconfig: Path
    log_path: Path
    fib_netns: str | None = None
    extra: tuple[str, ...] = ()
    metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    starts: int = 0

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self.process is not None and self.process.poll() is None

    def argv(self) -> list[str]:
        """The command line."""
        fib = [f"--fib-netns={self.fib_netns}"] if self.fib_netns else ["--no-fib"]
        return [
            sys.executable,
            "-m",
            "bgpctl",
            "run",
            f"--local-endpoint={self.endpoint}",
            f"--gobgp-target={self.gobgp_target}",
            f"--kubeconfig={self.kubeconfig}",
            f"--metrics-addr=127.0.0.1:{self.metrics_port}",
            "--log-level=info",
            *fib,
            *self.extra,
        ]

    def start(self) -> None:
        """Start the process (the previous one must have exited)."""
        if self.running:
            raise RuntimeError(f"agent {self.endpoint} is already running")
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts} ---\n".encode())
            log.flush()
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            self.process = subprocess.Popen(
                self.argv(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                start_new_session=True,
            )
        self.starts += 1

    def terminate(self, *, timeout: float = 30.0) -> int:
        """SIGTERM and wait; returns the exit status."""
        assert self.process is not None
        self.process.terminate()
        return self.process.wait(timeout=timeout)

    def kill(self) -> int:
        """Send SIGKILL and reap; returns the exit status."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGKILL)
        return self.process.wait(timeout=10)

    def stop(self) -> None:
        """Best-effort stop for cleanup: SIGTERM, then SIGKILL after 5 s."""
        if not self.running:
            return
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_text(self) -> str:
        """The whole log."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def current_log(self) -> str:
        """The log of the current (last started) process only."""
        text = self.log_text()
        marker = f"--- start {self.starts - 1} ---\n"
        return text[text.rfind(marker) + len(marker) :] if marker in text else text

    def metrics(self) -> dict[str, float]:
        """This agent's metrics (empty while it does not answer)."""
        try:
            return scrape(f"http://127.0.0.1:{self.metrics_port}/metrics")
        except OSError:
            return {}


def scrape(url: str, *, timeout: float = 2.0) -> dict[str, float]:
    """Prometheus text format -> ``{'name{labels}': value}`` (comments skipped).

    Raises:
        OSError: The endpoint did not answer.
    """
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback)
        text = response.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        with contextlib.suppress(ValueError):
            out[key] = float(value)
    return out


@dataclass(eq=False)
class RouteMonitor:
    """``ip -n NS monitor route`` into a file; ``deletions()`` lists the removals seen."""

    netns: str
    path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        """Start monitoring (give it a moment before relying on it)."""
        with self.path.open("wb") as out:
            self.process = subprocess.Popen(
                ["ip", "-n", self.netns, "monitor", "route"],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        time.sleep(0.3)

    def stop(self) -> None:
        """Stop the monitor."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=5)

    def lines(self) -> list[str]:
        """Every notification so far."""
        return self.path.read_text(errors="replace").splitlines() if self.path.exists() else []

    def deletions(self, *, containing: str = "") -> list[str]:
        """Route removals so far (optionally only those mentioning ``containing``)."""
        return [line for line in self.lines() if line.startswith("Deleted") and containing in line]
