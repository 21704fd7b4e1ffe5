"""bgpctl.testing.netns against the real kernel and gobgpd (needs root).

Covers naming, veth addressing, gobgpd start / kill -9 / restart (stale unix socket),
and that close() and remove_stale() clean up exactly what they own. Uses its own Lab so
that it can check teardown; gobgpd is Debian's (the fixture suite covers v3.37).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bgpctl.testing.netns import DEFAULT_GOBGPD, PREFIX, Lab, Netns, ip, remove_stale

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not DEFAULT_GOBGPD.exists(), reason="Debian gobgpd not installed"),
]


def namespaces() -> set[str]:
    return {line.split()[0] for line in ip("netns", "list").stdout.splitlines() if line.strip()}


def test_lab_creates_and_removes_everything() -> None:
    lab = Lab()
    try:
        a, b = lab.netns("a"), lab.netns("b")
        assert a.name.startswith(PREFIX) and lab.run_id in a.name and a.name != b.name
        link = lab.veth(
            a, b, a_addrs=["2001:db8:ab::1/64", "192.0.2.1/24"], b_addrs=["192.0.2.2/24"]
        )
        assert len(link.a_ifname) <= 15
        assert "2001:db8:ab::1/64" in a.ip("addr", "show", "dev", link.a_ifname).stdout
        assert "192.0.2.2/24" in b.ip("addr", "show", "dev", link.b_ifname).stdout
        daemon = lab.gobgpd(a)
        assert daemon.running and daemon.socket_path.exists()
        assert daemon.pid in a.pids()
        assert {a.name, b.name} <= namespaces()
    finally:
        lab.close()
    assert not {a.name, b.name} & namespaces()
    assert not daemon.running
    assert not lab.workdir.exists()


def test_kill_then_start_reuses_the_stale_socket() -> None:
    with Lab() as lab:
        daemon = lab.gobgpd(lab.netns("k"))
        first = daemon.pid
        daemon.kill()
        assert not daemon.running and daemon.socket_path.exists()  # kill -9 leaves it behind
        daemon.start()
        assert daemon.running and daemon.pid != first
        daemon.restart()
        assert daemon.running
        rss = daemon.rss_bytes()
        assert rss is not None and rss > 1_000_000
        out = subprocess.run(
            [str(Path("/usr/bin/gobgp")), "--target", daemon.target, "global"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert "AS:" in out.stdout


def test_failed_start_reports_the_log(tmp_path: Path) -> None:
    with Lab() as lab:
        broken = tmp_path / "gobgpd"
        broken.write_text("#!/bin/sh\necho 'cannot start' >&2\nexit 3\n")
        broken.chmod(0o755)
        with pytest.raises(RuntimeError, match="cannot start"):
            lab.gobgpd(lab.netns("f"), binary=broken)


def test_remove_stale_only_touches_dead_runs() -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = Netns(f"{PREFIX}p{dead.pid}x0000-stale")
    ip("netns", "add", stale.name)
    with Lab() as lab:
        live = lab.netns("live")
        try:
            removed = remove_stale()
            assert stale.name in removed
            assert live.name in namespaces() and stale.name not in namespaces()
        finally:
            ip("netns", "del", stale.name, check=False)
