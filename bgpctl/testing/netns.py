"""Network-namespace lab for tests, benchmarks and ``bgp lab``: namespaces, veths, gobgpd.

A ``Lab`` owns everything it creates and removes all of it in ``close()`` (also when used
as a context manager, and best-effort at interpreter exit), even after failures::

    with Lab() as lab:
        a, b = lab.netns("a"), lab.netns("b")
        lab.veth(a, b, a_addrs=["2001:db8:ab::1/64"], b_addrs=["2001:db8:ab::2/64"])
        gobgpd = lab.gobgpd(a)            # started; gobgpd.target -> "unix:///..."
        gobgpd.kill(); gobgpd.start()     # kill -9 and start again

Names: namespaces are ``bgpt-<run>-<name>``, where ``<run>`` is unique per process and
embeds its pid, so parallel runs never collide and ``remove_stale()`` can tell leftovers
of dead runs from namespaces still in use. Interface names stay within the kernel's 15
characters. Only documentation prefixes should be used inside (2001:db8::/32,
192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24).

gobgpd listens on ``127.0.0.1:<api_port>`` inside its namespace (for processes started
there) and on a unix socket in the lab's scratch directory. The socket is how a client in
the root namespace reaches it: the filesystem is not namespaced, so no traffic ever
leaves loopback. A stale socket left by ``kill -9`` makes a new gobgpd exit with
"address already in use", so ``start()`` removes it first.

Needs root and ``ip`` (iproute2). Synchronous on purpose: usable from sync fixtures,
scripts and ``asyncio.to_thread``. Namespaces are made, joined and removed by
:mod:`bgpctl.lab.netns`, the one namespace helper ``bgp lab`` uses too.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bgpctl.lab import netns
from bgpctl.lab.netns import ip

PREFIX = "bgpt-"
DEFAULT_GOBGPD = Path("/usr/bin/gobgpd")
_RUN_RE = re.compile(r"^bgpt-p(\d+)x[0-9a-f]{4}-")


def _new_run_id() -> str:
    return f"p{os.getpid()}x{secrets.token_hex(2)}"


@dataclass(frozen=True, slots=True)
class Netns:
    """A named network namespace."""

    name: str

    def exec_args(self, *argv: str) -> list[str]:
        """The argv that runs ``argv`` inside this namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a command inside the namespace and wait for it (30 s limit)."""
        return subprocess.run(
            self.exec_args(*argv), check=check, capture_output=True, text=True, timeout=30
        )

    def ip(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``ip -n <ns> <args>``."""
        return ip("-n", self.name, *args, check=check)

    def add_address(self, ifname: str, cidr: str) -> None:
        """Add an address to an interface (IPv6 without DAD, so it is usable at once)."""
        netns.add_address(self.name, ifname, cidr)

    def pids(self) -> list[int]:
        """Processes whose network namespace is this one."""
        return netns.pids(self.name)


@dataclass(frozen=True, slots=True)
class Veth:
    """The two ends of a veth pair: ``a_ifname`` in ``a``, ``b_ifname`` in ``b``."""

    a: Netns
    b: Netns
    a_ifname: str
    b_ifname: str


@dataclass(eq=False)
class GoBGPD:
    """One gobgpd inside a namespace; create it with ``Lab.gobgpd``.

    Attributes:
        netns: Where it runs.
        binary: The gobgpd executable.
        socket_path: Its unix API socket (reachable from any namespace).
        api_port: Its TCP API port on 127.0.0.1 inside ``netns``.
        log_path: Its stdout/stderr (appended across restarts).
        log_level: gobgpd ``-l`` level.
    """

    netns: Netns
    binary: Path
    socket_path: Path
    api_port: int
    log_path: Path
    log_level: str = "info"
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def target(self) -> str:
        """The gRPC target for a client anywhere on this host (the unix socket)."""
        return f"unix://{self.socket_path}"

    @property
    def tcp_target(self) -> str:
        """The gRPC target for a client inside ``netns``."""
        return f"127.0.0.1:{self.api_port}"

    @property
    def pid(self) -> int | None:
        """The pid while running (``ip netns exec`` execs, so it is gobgpd's own)."""
        return self.process.pid if self.running and self.process else None

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self, *, ready_timeout: float = 15.0) -> None:
        """Start gobgpd and wait until its API socket accepts connections.

        Raises:
            RuntimeError: It exited or did not listen in time (log tail included).
        """
        if self.running:
            raise RuntimeError(f"gobgpd in {self.netns.name} is already running")
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()  # left behind by kill -9; gobgpd would not bind
        argv = self.netns.exec_args(
            str(self.binary),
            f"--api-hosts=127.0.0.1:{self.api_port},unix://{self.socket_path}",
            "--pprof-disable",
            "--log-plain",
            f"--log-level={self.log_level}",
        )
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gobgpd exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            if netns.accepts(self.socket_path):
                return
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"gobgpd did not listen within {ready_timeout}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """``kill -9`` gobgpd and reap it (no-op if not running)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, *, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.kill()

    def restart(self) -> None:
        """``kill -9`` and start again (a crash followed by a supervisor restart)."""
        self.kill()
        self.start()

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of gobgpd's log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def rss_bytes(self) -> int | None:
        """Resident set size from /proc, or ``None`` if not running."""
        pid = self.pid
        return None if pid is None else rss_bytes(pid)


class Lab:
    """Owner of namespaces, veths and daemons; ``close()`` removes them all."""

    def __init__(self, *, workdir: Path | None = None, keep_logs: bool = False) -> None:
        """Create an empty lab.

        Args:
            workdir: Scratch directory for sockets and logs; a fresh temp dir by default
                (removed on close unless ``keep_logs``).
            keep_logs: Keep the scratch directory after ``close()``.
        """
        self.run_id = _new_run_id()
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix=f"{PREFIX}{self.run_id}-"))
        self.keep_logs = keep_logs
        self._netns: list[Netns] = []
        self._daemons: list[GoBGPD] = []
        self._links = itertools.count()
        self._serial = itertools.count()  # next() is atomic: safe from asyncio.to_thread
        self._closed = False
        atexit.register(self.close)

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def netns(self, name: str) -> Netns:
        """Create namespace ``bgpt-<run>-<name>`` with loopback up."""
        ns = Netns(f"{PREFIX}{self.run_id}-{name}")
        self._netns.append(ns)  # recorded first: a half-made namespace is removed too
        netns.add_namespace(ns.name)
        return ns

    def veth(
        self,
        a: Netns,
        b: Netns,
        *,
        a_addrs: Iterable[str] = (),
        b_addrs: Iterable[str] = (),
    ) -> Veth:
        """Join two namespaces with a veth pair, add addresses and bring both ends up."""
        n = next(self._links)
        tag = self.run_id[-4:]
        a_if, b_if = f"bv{tag}{n}a", f"bv{tag}{n}b"
        ip("link", "add", a_if, "netns", a.name, "type", "veth", "peer", b_if, "netns", b.name)
        for ns, ifname, addrs in ((a, a_if, a_addrs), (b, b_if, b_addrs)):
            for cidr in addrs:
                ns.add_address(ifname, cidr)
            ns.ip("link", "set", ifname, "up")
        return Veth(a, b, a_if, b_if)

    def gobgpd(
        self,
        ns: Netns,
        *,
        binary: Path | str = DEFAULT_GOBGPD,
        api_port: int = 50051,
        log_level: str = "info",
        start: bool = True,
    ) -> GoBGPD:
        """Create (and by default start) a gobgpd inside ``ns``; see ``GoBGPD``."""
        name = f"{ns.name.removeprefix(f'{PREFIX}{self.run_id}-')}-{next(self._serial)}"
        daemon = GoBGPD(
            netns=ns,
            binary=Path(binary),
            socket_path=self.workdir / f"{name}.sock",
            api_port=api_port,
            log_path=self.workdir / f"{name}.log",
            log_level=log_level,
        )
        self._daemons.append(daemon)
        if start:
            daemon.start()
        return daemon

    @property
    def daemons(self) -> list[GoBGPD]:
        """Every gobgpd created by this lab (running or not), oldest first."""
        return list(self._daemons)

    def remove(self, ns: Netns) -> None:
        """Kill the daemons and processes in ``ns`` and delete it (its veth ends go too)."""
        daemons = [d for d in self._daemons if d.netns == ns]
        _cleanup([ns], daemons)
        self._daemons = [d for d in self._daemons if d.netns != ns]
        self._netns = [n for n in self._netns if n != ns]

    def close(self) -> None:
        """Kill every daemon and process in our namespaces, then delete the namespaces."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        _cleanup(self._netns, self._daemons)
        if self._own_workdir and not self.keep_logs:
            shutil.rmtree(self.workdir, ignore_errors=True)


def rss_bytes(pid: int | str = "self") -> int:
    """A process's resident set size (``VmRSS`` in /proc), in bytes; 0 if not reported."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _cleanup(namespaces: Sequence[Netns], daemons: Sequence[GoBGPD]) -> None:
    for daemon in daemons:
        with contextlib.suppress(Exception):
            daemon.kill()
    for ns in namespaces:  # anything else started inside (e.g. a bgp agent) is killed too
        netns.remove_namespace(ns.name)


def remove_stale() -> list[str]:
    """Delete ``bgpt-`` namespaces created by a ``Lab`` whose process no longer exists.

    Only names in this module's format are considered, and only when the pid they embed
    is dead, so labs of concurrent runs (and other tools' namespaces) are left alone.
    Returns the names removed.
    """
    removed = []
    for name in netns.list_namespaces(PREFIX):
        match = _RUN_RE.match(name)
        if match is None or _alive(int(match.group(1))):
            continue
        _cleanup([Netns(name)], [])
        removed.append(name)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
