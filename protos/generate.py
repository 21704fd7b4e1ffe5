#!/usr/bin/env python3
"""Generate ``bgpctl/gobgp/_proto`` from the ``.proto`` files under ``protos/``.

The protos live at ``protos/bgpctl/gobgp/_proto/*.proto`` and import each other by
that path, so protoc emits ``from bgpctl.gobgp._proto import family_pb2`` instead of the
top-level ``import family_pb2`` that breaks inside a package. The proto package stays
``apipb``, so Any type URLs and gRPC method paths are GoBGP's.

Output per proto: ``*_pb2.py`` (protoc), ``*_pb2.pyi`` (mypy-protobuf), and for the
service ``*_pb2_grpc.py`` (grpcio-tools) plus ``*_pb2_grpc.pyi`` (mypy-protobuf).
The generator versions are pinned below and checked, because their output (and the
runtime versions it demands) changes between releases; with the pins the output is
byte-for-byte reproducible.

Usage::

    python protos/generate.py           # regenerate in place
    python protos/generate.py --check   # exit 1 if the checked-in output is stale
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.metadata
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
PACKAGE_DIR = Path("bgpctl/gobgp/_proto")
PINNED = {"grpcio-tools": "1.81.1", "mypy-protobuf": "5.1.0"}
INIT_TEXT = '''"""Generated GoBGP API stubs (package ``apipb``); see ``protos/generate.py``.

Do not edit: regenerate with ``python protos/generate.py``.
"""
'''


def check_versions() -> None:
    """Refuse to run with generator versions other than the pinned ones."""
    for dist, want in PINNED.items():
        have = importlib.metadata.version(dist)
        if have != want:
            sys.exit(f"generate.py: {dist} {have} installed, {want} pinned; output would differ")


def generate(out_root: Path) -> None:
    """Run protoc for every proto, writing the package under ``out_root``."""
    import grpc_tools  # noqa: PLC0415 - only needed when generating

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    bindir = Path(sys.executable).parent
    protos = sorted(
        str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / PACKAGE_DIR).glob("*.proto")
    )
    cmd = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"--proto_path={PROTO_ROOT}",
        f"--proto_path={well_known}",
        f"--plugin=protoc-gen-mypy={bindir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bindir / 'protoc-gen-mypy_grpc'}",
        f"--python_out={out_root}",
        f"--mypy_out={out_root}",
        f"--grpc_python_out={out_root}",
        f"--mypy_grpc_out={out_root}",
        *protos,
    ]
    proc = subprocess.run(cmd, cwd=PROTO_ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"generate.py: protoc failed:\n{proc.stdout}{proc.stderr}")
    package = out_root / PACKAGE_DIR
    # protoc writes a _pb2_grpc.py for every file; only service.proto has a service.
    for stub in package.glob("*_pb2_grpc.py*"):
        if not stub.name.startswith("service_"):
            stub.unlink()
    (package / "__init__.py").write_text(INIT_TEXT)


def main() -> int:
    """Regenerate, or with ``--check`` compare against the checked-in output."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the output is stale")
    args = parser.parse_args()
    check_versions()
    with tempfile.TemporaryDirectory() as tmp:
        out_root = Path(tmp)
        (out_root / PACKAGE_DIR).mkdir(parents=True)
        generate(out_root)
        fresh = out_root / PACKAGE_DIR
        target = ROOT / PACKAGE_DIR
        if args.check:
            stale = _differences(fresh, target)
            for name in stale:
                print(f"stale: {PACKAGE_DIR / name}", file=sys.stderr)
            return 1 if stale else 0
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(fresh, target)
    print(f"generated {PACKAGE_DIR}")
    return 0


def _differences(fresh: Path, target: Path) -> list[str]:
    names = {p.name for p in fresh.iterdir()}
    if target.exists():
        names |= {p.name for p in target.iterdir() if p.is_file() and p.name != "__pycache__"}
    return sorted(
        n
        for n in names
        if not (fresh / n).is_file()
        or not (target / n).is_file()
        or not filecmp.cmp(fresh / n, target / n, shallow=False)
    )


if __name__ == "__main__":
    raise SystemExit(main())
