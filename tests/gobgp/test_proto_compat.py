"""Our ``protos/`` stay wire-compatible with GoBGP's own API definitions.

Compiles GoBGP's reference protos (Debian's 3.10 copy, and v3.37's from the Go module
cache when it has been downloaded) into descriptors and checks that every message, field,
enum value and RPC we define exists there with the same full name, number, type and
streaming shape. Skipped when a reference is not installed. Does not check the fields we
leave out (by design, they are optional on the wire).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import grpc_tools  # type: ignore[import-untyped]
import pytest
from google.protobuf import descriptor_pb2

from bgpctl.gobgp._proto import (
    attribute_pb2,
    family_pb2,
    path_pb2,
    peer_pb2,
    policy_pb2,
    service_pb2,
)

REFERENCES = {
    "debian-3.10": Path("/usr/share/gocode/src/github.com/osrg/gobgp/api"),
    "v3.37.0": Path.home() / "go/pkg/mod/github.com/osrg/gobgp/v3@v3.37.0/api",
}
OURS = (attribute_pb2, family_pb2, path_pb2, peer_pb2, policy_pb2, service_pb2)


def _reference_set(api_dir: Path) -> descriptor_pb2.FileDescriptorSet:
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ref.pb"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "grpc_tools.protoc",
                f"-I{api_dir}",
                f"-I{well_known}",
                "--include_imports",
                f"--descriptor_set_out={out}",
                "gobgp.proto",
                "attribute.proto",
            ],
            check=True,
            capture_output=True,
        )
        return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def _index(files: list[descriptor_pb2.FileDescriptorProto]) -> dict[str, object]:
    """Map full names to message/enum/service descriptor protos."""
    out: dict[str, object] = {}

    def walk_msg(prefix: str, msg: descriptor_pb2.DescriptorProto) -> None:
        name = f"{prefix}.{msg.name}"
        out[name] = msg
        for nested in msg.nested_type:
            walk_msg(name, nested)
        for enum in msg.enum_type:
            out[f"{name}.{enum.name}"] = enum

    for f in files:
        if f.package != "apipb":
            continue
        for msg in f.message_type:
            walk_msg(".apipb", msg)
        for enum in f.enum_type:
            out[f".apipb.{enum.name}"] = enum
        for svc in f.service:
            out[f".apipb.{svc.name}"] = svc
    return out


def _ours() -> dict[str, object]:
    files = []
    for module in OURS:
        fdp = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(fdp)
        files.append(fdp)
    return _index(files)


def _field_shape(field: descriptor_pb2.FieldDescriptorProto) -> tuple[object, ...]:
    oneof = field.oneof_index if field.HasField("oneof_index") else None
    return (field.number, field.type, field.label, field.type_name, oneof is not None)


@pytest.mark.parametrize("version", sorted(REFERENCES))
def test_every_definition_matches_the_reference(version: str) -> None:
    api_dir = REFERENCES[version]
    if not (api_dir / "gobgp.proto").exists():
        pytest.skip(f"GoBGP {version} protos not installed at {api_dir}")
    ref = _index(list(_reference_set(api_dir).file))
    problems: list[str] = []
    for name, ours in _ours().items():
        theirs = ref.get(name)
        if theirs is None or type(theirs) is not type(ours):
            problems.append(f"{name}: missing in reference")
            continue
        if isinstance(ours, descriptor_pb2.DescriptorProto):
            assert isinstance(theirs, descriptor_pb2.DescriptorProto)
            fields = {f.name: f for f in theirs.field}
            for f in ours.field:
                if f.name not in fields:
                    problems.append(f"{name}.{f.name}: missing in reference")
                elif _field_shape(f) != _field_shape(fields[f.name]):
                    problems.append(
                        f"{name}.{f.name}: {_field_shape(f)} != {_field_shape(fields[f.name])}"
                    )
        elif isinstance(ours, descriptor_pb2.EnumDescriptorProto):
            assert isinstance(theirs, descriptor_pb2.EnumDescriptorProto)
            values = {v.name: v.number for v in theirs.value}
            for v in ours.value:
                if values.get(v.name) != v.number:
                    problems.append(
                        f"{name}.{v.name}={v.number}: reference has {values.get(v.name)}"
                    )
        else:
            assert isinstance(ours, descriptor_pb2.ServiceDescriptorProto)
            assert isinstance(theirs, descriptor_pb2.ServiceDescriptorProto)
            methods = {m.name: m for m in theirs.method}
            for m in ours.method:
                t = methods.get(m.name)
                shape = (m.input_type, m.output_type, m.client_streaming, m.server_streaming)
                if t is None or shape != (
                    t.input_type,
                    t.output_type,
                    t.client_streaming,
                    t.server_streaming,
                ):
                    problems.append(f"{name}/{m.name}: differs from reference")
    assert problems == []


def test_service_and_any_names_are_gobgps() -> None:
    assert service_pb2.DESCRIPTOR.services_by_name["GobgpApi"].full_name == "apipb.GobgpApi"
    assert attribute_pb2.IPAddressPrefix.DESCRIPTOR.full_name == "apipb.IPAddressPrefix"
