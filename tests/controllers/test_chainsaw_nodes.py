"""The chainsaw scenarios that need running nodes (``chainsaw/nodes/``), on the 3-node mesh.

The mesh (real API server, gobgpd per node, agents under the controller's identity) is
the same as the other end-to-end tests'; chainsaw gets the node names and the peer's
GoBGP socket as values.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bgpctl.envtest import ControlPlane
from bgpctl.envtest.binaries import ensure_chainsaw
from bgpctl.testing.netns import remove_stale
from tests.controllers.mesh import mesh

pytestmark = [pytest.mark.integration, pytest.mark.root]

SUITES = Path(__file__).resolve().parents[2] / "chainsaw"
LABELS = {"a": {"role": "origin"}, "b": {}, "c": {}}


@pytest.fixture(autouse=True)
def _root_only() -> None:
    if os.geteuid() != 0 or shutil.which("gobgp") is None:
        pytest.skip("needs root and the gobgp CLI (Debian package gobgpd; .ci/run installs it)")
    remove_stale()


async def test_node_scenarios(control_plane: ControlPlane, tmp_path: Path) -> None:
    chainsaw = ensure_chainsaw()
    async with mesh(control_plane, LABELS) as m:
        values = {
            "origin": m.nodes["a"].name,
            "peerTarget": m.nodes["b"].daemon.target,
            "nodes": len(m.nodes),
        }
        (tmp_path / "values.yaml").write_text(yaml.safe_dump(values))
        argv = [
            str(chainsaw),
            "test",
            "--config",
            str(SUITES / "config.yaml"),
            "--test-dir",
            str(SUITES / "nodes"),
            "--values",
            str(tmp_path / "values.yaml"),
            "--namespace",
            "default",
            "--no-color",
        ]
        proc = await asyncio.to_thread(
            subprocess.run,
            argv,
            env=control_plane.env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    tail = proc.stdout[-6000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    assert "Passed  tests 2" in proc.stdout and "Failed  tests 0" in proc.stdout, tail
