"""The CRD generator emits structural schemas, and the committed manifests are current."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bgpctl.api.crdgen import crd, render
from bgpctl.api.resource import GROUP
from bgpctl.api.v1alpha1 import ALL_KINDS

CRDS = Path(__file__).resolve().parents[2] / "manifests" / "crds"


def walk(schema: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    if isinstance(schema, dict):
        out.append((path, schema))
        for name, sub in schema.get("properties", {}).items():
            out.extend(walk(sub, f"{path}.{name}"))
        if isinstance(schema.get("items"), dict):
            out.extend(walk(schema["items"], f"{path}[]"))
        if isinstance(schema.get("additionalProperties"), dict):
            out.extend(walk(schema["additionalProperties"], f"{path}{{}}"))
    return out


@pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda k: k.kind)
def test_schema_is_structural(kind: Any) -> None:
    root = crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node in walk(root):
        assert not {"$ref", "anyOf", "oneOf", "allOf", "title", "$defs"} & node.keys(), path
        assert "type" in node, f"{kind.kind}{path} has no type"
        assert node.get("default", 0) is not None, path


@pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda k: k.kind)
def test_committed_manifest_is_current(kind: Any) -> None:
    committed = (CRDS / f"{GROUP}_{kind.plural}.yaml").read_text()
    assert committed == render(kind), "run `make manifests` and commit the result"


@pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda k: k.kind)
def test_names_columns_and_category(kind: Any) -> None:
    spec = crd(kind)["spec"]
    assert spec["scope"] == "Cluster"
    assert spec["names"]["categories"] == ["bgp"]
    assert spec["names"]["shortNames"]
    version = spec["versions"][0]
    assert version["subresources"] == {"status": {}}
    assert version["additionalPrinterColumns"]


def test_as_numbers_are_int64() -> None:
    for kind in ALL_KINDS:
        for path, node in walk(crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]):
            if node.get("maximum") == 4294967295:
                assert node["format"] == "int64", f"{kind.kind}{path}"
