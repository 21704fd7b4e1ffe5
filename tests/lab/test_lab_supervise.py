"""``bgp lab`` keeps running when a component exits, restarts it, and counts restarts.

The supervisor's back-off with fakes, then the real thing: ``bgp lab up --nodes 2`` as a
subprocess, ``bgp lab restart node-1 --kill`` (agent) and ``bgp lab restart node-2
--gobgpd --kill``, ``bgp lab status`` showing the restart counts, sessions Established
again, and a clean teardown on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bgpctl.controllers.resources import BGP_SESSIONS
from bgpctl.lab.supervise import Supervisor
from bgpctl.lab.topology import all_established, session_states
from bgpctl.runtime.client.kube import KubeClient

from .test_lab_up import REPO, _assert_nothing_left, workdir  # noqa: F401


def test_backoff_and_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    exited: dict[str, int | None] = {"agent": None}
    starts: list[float] = []

    def start(node: str, kind: str) -> int:
        starts.append(clock[0])
        exited["agent"] = None
        return 1000 + len(starts)

    sup = Supervisor(tmp_path, poll=lambda n, k: exited[k], start=start, out=lambda _: None)
    sup.track("node-1", "agent", 1000)
    for delay in (0.0, 1.0, 2.0, 4.0):
        exited["agent"] = 1
        sup.tick()  # noticed: scheduled after the back-off
        clock[0] += delay
        sup.tick()
        assert starts[-1] == clock[0]
    state = json.loads((tmp_path / "status.json").read_text())
    assert state["components"][0]["restarts"] == 4
    assert state["components"][0]["lastExit"] == 1
    clock[0] += 61.0  # ran a minute: the back-off starts over
    exited["agent"] = 0
    sup.tick()
    assert starts[-1] == clock[0]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bgpctl", "lab", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _status() -> dict[tuple[str, str], dict[str, object]]:
    out = _cli("status")
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()[1:]]
    return {(r[0], r[1]): {"state": r[2], "restarts": int(r[4])} for r in rows}


def _wait(check: object, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.5)
    pytest.fail(f"timed out after {within}s waiting for {what}")


async def _established(kubeconfig: Path) -> bool:
    async with await KubeClient.from_kubeconfig(kubeconfig) as admin:
        items = (await admin.list(BGP_SESSIONS)).items
    return all_established(session_states(items), 1)


def test_lab_restarts_components(workdir: Path) -> None:  # noqa: F811
    lab = subprocess.Popen(
        [sys.executable, "-m", "bgpctl", "lab", "up", "--nodes", "2", "--workdir", str(workdir)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert lab.stdout is not None
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            line = lab.stdout.readline()
            lines.append(line)
            if "sessions Established" in line and line.startswith("all"):
                break
            if not line and lab.poll() is not None:
                if "already exist" in "".join(lines):  # one lab per host: another run won
                    pytest.skip("another bgp lab started on this host meanwhile")
                pytest.fail("".join(lines))
        else:
            pytest.fail("lab not up:\n" + "".join(lines))
        kubeconfig = workdir / "controlplane" / "admin.kubeconfig"

        assert "sent SIGKILL to agent of node-1" in _cli("restart", "node-1", "--kill").stdout
        _wait(
            lambda: _status()[("node-1", "agent")] == {"state": "Running", "restarts": 1},
            30,
            "node-1's agent restarted",
        )
        sent = _cli("restart", "node-2", "--gobgpd", "--kill").stdout
        assert "sent SIGKILL to gobgpd of node-2" in sent
        _wait(
            lambda: _status()[("node-2", "gobgpd")] == {"state": "Running", "restarts": 1},
            30,
            "node-2's gobgpd restarted",
        )
        _wait(lambda: asyncio.run(_established(kubeconfig)), 60, "the session Established again")
        status = _status()
        assert status[("node-1", "gobgpd")]["restarts"] == 0
        assert status[("node-2", "agent")]["restarts"] == 0
        assert lab.poll() is None, "the lab exited"
    finally:
        lab.send_signal(signal.SIGTERM)
        try:
            rest, _ = lab.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            lab.kill()
            rest, _ = lab.communicate()
    assert lab.returncode == 0, "".join(lines) + rest
    assert _cli("status").returncode == 1  # no lab any more
    _assert_nothing_left(workdir)
