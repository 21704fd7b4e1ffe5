"""What the wheel holds and what it depends on (README "Packaging")."""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def shipped_packages() -> set[str]:
    find = PROJECT["tool"]["setuptools"]["packages"]["find"]
    return set(find_packages(str(ROOT), include=find["include"], exclude=find["exclude"]))


def test_wheel_ships_the_agent_envtest_and_lab_but_not_the_test_helpers() -> None:
    packages = shipped_packages()
    assert {"bgpctl", "bgpctl.runtime", "bgpctl.cli", "bgpctl.envtest", "bgpctl.lab"} <= packages
    assert not any(p == "bgpctl.testing" or p.startswith("bgpctl.testing.") for p in packages)


def test_grpcio_tools_is_a_test_extra_not_a_runtime_dependency() -> None:
    def names(requirements: list[str]) -> set[str]:
        return {r.split("=")[0].split(">")[0].split("<")[0].strip() for r in requirements}

    assert "grpcio-tools" not in names(PROJECT["project"]["dependencies"])
    assert "grpcio-tools" in names(PROJECT["project"]["optional-dependencies"]["test"])
