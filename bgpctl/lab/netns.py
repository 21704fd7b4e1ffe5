"""Network namespaces through ``ip`` (iproute2), synchronously: the one helper for them.

``bgp lab`` builds its bridged L2 segment from these functions: a hub namespace holding
a Linux bridge, and in every node namespace one veth whose other end is a bridge port in
the hub. The test lab (``bgpctl.testing.netns``) builds on the same functions for its
namespaces, veth pairs and gobgpd sockets. Only veth and bridge are used (the kernel
here has no ``dummy`` driver).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from pathlib import Path

PREFIX = "bgplab-"
BRIDGE = "br0"


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``ip <args>`` (30 s limit).

    Raises:
        RuntimeError: ``check`` and a non-zero exit (stderr included).
    """
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {proc.stderr.strip()}")
    return proc


def list_namespaces(prefix: str = PREFIX) -> list[str]:
    """Names of the existing namespaces that start with ``prefix``."""
    names = []
    for line in ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        if name.startswith(prefix):
            names.append(name)
    return names


def accepts(path: Path) -> bool:
    """Whether a unix socket at ``path`` accepts a connection (a daemon is listening)."""
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def add_namespace(name: str) -> None:
    """Create namespace ``name`` with loopback up."""
    ip("netns", "add", name)
    ip("-n", name, "link", "set", "lo", "up")


def add_bridge(ns: str, bridge: str = BRIDGE) -> None:
    """Create a Linux bridge inside ``ns`` and bring it up."""
    ip("-n", ns, "link", "add", bridge, "type", "bridge")
    ip("-n", ns, "link", "set", bridge, "up")


def attach(node_ns: str, ifname: str, hub_ns: str, port: str, addrs: list[str]) -> None:
    """Join ``node_ns`` to the bridge in ``hub_ns`` with a veth; address and raise it.

    IPv6 addresses are added with ``nodad`` so they are usable at once.
    """
    ip("-n", node_ns, "link", "add", ifname, "type", "veth", "peer", "name", port, "netns", hub_ns)
    ip("-n", hub_ns, "link", "set", port, "master", BRIDGE)
    ip("-n", hub_ns, "link", "set", port, "up")
    for cidr in addrs:
        add_address(node_ns, ifname, cidr)
    ip("-n", node_ns, "link", "set", ifname, "up")


def add_address(ns: str, ifname: str, cidr: str) -> None:
    """Add an address to an interface (IPv6 without DAD, so it is usable at once)."""
    extra = ["nodad"] if ":" in cidr else []
    ip("-n", ns, "addr", "add", cidr, "dev", ifname, *extra)


def pids(ns: str) -> list[int]:
    """Processes whose network namespace is ``ns``."""
    return [int(p) for p in ip("netns", "pids", ns, check=False).stdout.split()]


def remove_namespace(ns: str) -> None:
    """SIGKILL every process left in ``ns``, then delete it (its veth ends go with it)."""
    for pid in pids(ns):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    ip("netns", "del", ns, check=False)
