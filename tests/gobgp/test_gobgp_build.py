"""gobgp_build: builds once into the cache, then reuses; reports failures.

Uses a stand-in ``go`` script (no network, no compiler); the real build against the
module proxy runs in the gobgpd fixtures of test_gobgpd_*.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bgpctl.testing.gobgp_build import build_gobgp

FAKE_GO = """#!/bin/sh
# record the call, then "install" the package's last path element into $GOBIN
echo "$GOBIN $*" >> "{log}"
[ -n "$FAIL" ] && {{ echo "boom" >&2; exit 1; }}
name=$(basename "${{3%@*}}")
printf '#!/bin/sh\\necho %s\\n' "$name" > "$GOBIN/$name"
chmod +x "$GOBIN/$name"
"""


@pytest.fixture
def fake_go(tmp_path: Path) -> tuple[Path, Path]:
    log = tmp_path / "calls.log"
    go = tmp_path / "go"
    go.write_text(FAKE_GO.format(log=log))
    go.chmod(go.stat().st_mode | stat.S_IEXEC)
    return go, log


def test_builds_into_the_version_directory_once(tmp_path: Path, fake_go: tuple[Path, Path]) -> None:
    go, log = fake_go
    messages: list[str] = []
    first = build_gobgp(
        "v3.99.0", cache_root=tmp_path / "cache", go=str(go), progress=messages.append
    )
    assert first.gobgpd == tmp_path / "cache" / "v3.99.0" / "gobgpd"
    assert first.gobgpd.is_file() and first.gobgp.is_file()
    calls = log.read_text().splitlines()
    assert [c.split()[-1] for c in calls] == [
        "github.com/osrg/gobgp/v3/cmd/gobgpd@v3.99.0",
        "github.com/osrg/gobgp/v3/cmd/gobgp@v3.99.0",
    ]
    assert any("ready" in m for m in messages)
    again = build_gobgp(
        "v3.99.0", cache_root=tmp_path / "cache", go=str(go), progress=messages.append
    )
    assert again == first
    assert len(log.read_text().splitlines()) == 2  # not rebuilt


def test_failed_build_leaves_no_partial_binaries(
    tmp_path: Path, fake_go: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    go, _ = fake_go
    monkeypatch.setenv("FAIL", "1")
    with pytest.raises(RuntimeError, match="boom"):
        build_gobgp("v3.98.0", cache_root=tmp_path / "cache", go=str(go), progress=lambda _: None)
    assert not (tmp_path / "cache" / "v3.98.0" / "gobgpd").exists()
    assert [p.name for p in (tmp_path / "cache").iterdir() if not p.name.endswith(".lock")] == []
