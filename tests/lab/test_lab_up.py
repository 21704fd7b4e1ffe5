"""``bgp lab up --check`` end to end: control plane, 3 nodes, full mesh Established, clean.

Runs the real command as a subprocess (``python -m bgpctl lab up``) with its work
directory under ``tmp_path``, so the processes it starts can be recognised by their
command lines. Whatever happens, nothing the lab created is left behind: a subprocess
that overruns is sent SIGTERM (its own teardown), then SIGKILL, and the test then
removes any ``bgplab-`` namespace and kills any process naming the work directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bgpctl.envtest.binaries import find_binaries
from bgpctl.lab.lab import GOBGPD, clean
from bgpctl.lab.netns import list_namespaces

pytestmark = [pytest.mark.integration, pytest.mark.root]

REPO = Path(__file__).resolve().parents[2]
RUN_WITHIN = 150.0


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """A lab work directory; skips unless this host can run a lab right now."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 for network namespaces")
    if not GOBGPD.exists():
        pytest.skip("Debian gobgpd is not installed")
    if find_binaries() is None:
        pytest.skip("needs kube-apiserver and etcd: run `make envtest`")
    if list_namespaces():
        pytest.skip("a bgplab is already running on this host")
    path = tmp_path / "lab"
    try:
        yield path
    finally:
        clean()
        for pid in _processes_mentioning(str(path)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def lab_up(workdir: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``bgp lab up --check`` and return it with its duration; never leaks it."""
    argv = [sys.executable, "-m", "bgpctl", "lab", "up", "--check", "--workdir", str(workdir)]
    start = time.monotonic()
    proc = subprocess.Popen(
        [*argv, *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        out, err = proc.communicate(timeout=RUN_WITHIN)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # lets the lab tear itself down
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        pytest.fail(f"bgp lab up did not finish within {RUN_WITHIN}s:\n{out}\n{err}")
    elapsed = time.monotonic() - start
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), elapsed


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if text in cmdline:
                pids.append(int(entry.name))
    return pids


def _assert_nothing_left(workdir: Path) -> None:
    assert list_namespaces() == []
    assert _processes_mentioning(str(workdir)) == []  # gobgpd and bgp run name the workdir


def test_lab_up_check_three_nodes(workdir: Path) -> None:
    proc, elapsed = lab_up(workdir, "--nodes", "3")
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    assert "all 3 sessions Established" in proc.stdout
    for session in ("node-1--node-2", "node-1--node-3", "node-2--node-3"):
        assert session in proc.stdout
    assert "lab removed" in proc.stdout
    print(f"bgp lab up --nodes 3 --check: {elapsed:.1f}s")  # no timed assertion (benchmarks/)
    _assert_nothing_left(workdir)


def test_lab_up_check_times_out_with_message(workdir: Path) -> None:
    proc, _ = lab_up(workdir, "--nodes", "2", "--timeout", "0")
    assert proc.returncode == 1
    assert "not all Established after 0s" in proc.stderr
    assert "lab removed" in proc.stdout
    _assert_nothing_left(workdir)
