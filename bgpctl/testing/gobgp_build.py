"""Build pinned GoBGP releases from the Go module proxy, for tests and benchmarks.

``build_gobgp("v3.37.0")`` runs ``go install github.com/osrg/gobgp/v3/cmd/gobgpd@v3.37.0``
(and ``cmd/gobgp``) with ``GOBIN`` pointing at ``~/.cache/bgpctl/gobgp/<version>/`` and
returns the two binary paths. A build happens only when a binary is missing; an
``fcntl`` lock serialises concurrent builders (several test sessions, several engineers)
and the binaries are installed into a scratch directory first and renamed into place,
so a half-written binary is never picked up.

Also usable outside pytest: ``python -m bgpctl.testing.gobgp_build [version]``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bgpctl.envtest.versions import cache_root

MODULE = "github.com/osrg/gobgp/v3"
DEFAULT_VERSION = "v3.37.0"
"""The newest GoBGP v3 release served by the module proxy here; pinned on purpose."""

DEBIAN_GOBGPD = Path("/usr/bin/gobgpd")
DEBIAN_GOBGP = Path("/usr/bin/gobgp")
BUILD_TIMEOUT = 1200.0
"""Seconds allowed for one ``go install`` (cold module cache, 2 shared cores)."""


@dataclass(frozen=True, slots=True)
class GoBGPBinaries:
    """A gobgpd/gobgp pair and the version label it was built or packaged as."""

    version: str
    gobgpd: Path
    gobgp: Path


def default_cache_root() -> Path:
    """``gobgp/`` in the project's one cache directory.

    That is ``bgpctl.envtest.versions.cache_root()`` (``$BGPCTL_CACHE``, else
    ``~/.cache/bgpctl``), where ``make image`` looks for gobgpd too.
    """
    return cache_root() / "gobgp"


def debian_binaries() -> GoBGPBinaries:
    """The gobgpd/gobgp installed from Debian (3.10.0 on this machine)."""
    return GoBGPBinaries(version="debian", gobgpd=DEBIAN_GOBGPD, gobgp=DEBIAN_GOBGP)


def build_gobgp(
    version: str = DEFAULT_VERSION,
    *,
    cache_root: Path | None = None,
    go: str = "go",
    progress: Callable[[str], None] | None = None,
) -> GoBGPBinaries:
    """Return GoBGP ``version``'s binaries, building them first if any is missing.

    Args:
        version: A module version such as ``v3.37.0``.
        cache_root: Where ``<version>/gobgpd`` lives; default ``default_cache_root()``.
        go: The ``go`` executable.
        progress: Receives one-line progress messages; default prints to stderr.

    Raises:
        RuntimeError: ``go install`` failed (its output is included) or timed out.
    """
    say = progress or _print_stderr
    target = (cache_root or default_cache_root()) / version
    binaries = GoBGPBinaries(version, target / "gobgpd", target / "gobgp")
    if _present(binaries):
        return binaries
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building the same version
        if _present(binaries):
            return binaries
        scratch = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=target.parent))
        try:
            for cmd in ("gobgpd", "gobgp"):
                say(f"gobgp_build: go install {MODULE}/cmd/{cmd}@{version} ...")
                _go_install(go, f"{MODULE}/cmd/{cmd}@{version}", gobin=scratch)
            target.mkdir(exist_ok=True)
            for cmd in ("gobgpd", "gobgp"):
                os.replace(scratch / cmd, target / cmd)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        say(f"gobgp_build: GoBGP {version} ready in {target}")
    return binaries


def _present(binaries: GoBGPBinaries) -> bool:
    return all(os.access(p, os.X_OK) for p in (binaries.gobgpd, binaries.gobgp))


def _go_install(go: str, package: str, *, gobin: Path) -> None:
    env = dict(os.environ, GOBIN=str(gobin), CGO_ENABLED="0", GOFLAGS="-buildvcs=false")
    env.setdefault("GOTOOLCHAIN", "local")  # never download another toolchain behind our back
    try:
        proc = subprocess.run(
            [go, "install", "-trimpath", package],
            env=env,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"go install {package} timed out after {BUILD_TIMEOUT:.0f}s") from exc
    if proc.returncode != 0:
        raise RuntimeError(f"go install {package} failed:\n{proc.stdout}{proc.stderr}")


def _print_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Command line: build (if needed) and print the gobgpd path."""
    args = sys.argv[1:] if argv is None else argv
    binaries = build_gobgp(args[0] if args else DEFAULT_VERSION)
    print(binaries.gobgpd)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
