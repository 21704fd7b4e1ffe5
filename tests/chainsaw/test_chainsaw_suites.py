"""Run the declarative chainsaw suites (``chainsaw/``) against a real control plane."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from bgpctl.envtest import ControlPlane
from bgpctl.envtest.binaries import ensure_chainsaw

pytestmark = pytest.mark.integration

SUITES = Path(__file__).resolve().parents[2] / "chainsaw"


@pytest.mark.parametrize(
    "suite", sorted(p.parent.name for p in SUITES.glob("*/chainsaw-test.yaml"))
)
def test_chainsaw_suite(control_plane_factory: Callable[..., ControlPlane], suite: str) -> None:
    chainsaw = ensure_chainsaw()
    plane = control_plane_factory()
    plane.start_controller_manager()  # namespace deletion after each chainsaw test
    env = plane.env()
    proc = subprocess.run(
        [
            str(chainsaw),
            "test",
            "--config",
            str(SUITES / "config.yaml"),
            "--test-dir",
            str(SUITES / suite),
            "--no-color",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    relevant = "\n".join(
        line
        for line in proc.stdout.splitlines()
        if "sink.go" in line or "Invalid value" in line or "error" in line.lower()
    )
    assert proc.returncode == 0, relevant[-8000:] + proc.stderr[-2000:]
    assert "Failed  tests 0" in proc.stdout, relevant[-8000:]
