"""Import submodules of a package without running the package's ``__init__``.

``kubernetes_asyncio/__init__.py`` imports ``kubernetes_asyncio.client``, whose
``__init__`` imports all ~60 generated API classes and ~800 model classes; so does
``client/api_client.py`` (``import kubernetes_asyncio.client.models``). Python runs
every parent package's ``__init__`` before a submodule, so even ``from
kubernetes_asyncio.config.kube_config import load_kube_config`` costs ~33 MB of RSS,
while the API client uses five small modules (``api_client``, ``configuration``,
``rest``, ``exceptions``, and the kubeconfig/in-cluster loaders) and, because it asks
for plain JSON (``response_types_map`` ``object``), never a model class.

:func:`placeholder_packages` registers, for each named package, an empty module with
the package's ``__path__``: the import system then finds the submodules but has no
``__init__`` to run. What the loaded submodules import from a package itself (e.g.
``from kubernetes_asyncio.client import Configuration``) is listed as that package's
exports and resolved on first access from the submodule that defines it (PEP 562
module ``__getattr__``). The placeholders stay registered; if the package was already
imported in full (a test did), nothing is registered and the real package is used.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import Mapping
from pathlib import Path


def placeholder_packages(packages: Mapping[str, Mapping[str, str]]) -> None:
    """Register placeholders for ``packages`` (parent first) unless the first is loaded.

    Args:
        packages: Package name -> its exports: attribute name -> the submodule (relative
            to the package) that defines it.

    Raises:
        ModuleNotFoundError: the first (root) package is not installed.
    """
    names = list(packages)
    root = names[0]
    if root in sys.modules:
        return
    spec = importlib.util.find_spec(root)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"no package {root!r}", name=root)
    base = Path(next(iter(spec.submodule_search_locations)))
    for name, exports in packages.items():
        module = types.ModuleType(name, f"{name} (placeholder: its __init__ is not run)")
        module.__path__ = [str(base.joinpath(*name.split(".")[1:]))]
        module.__package__ = name
        module.__getattr__ = _exports(name, dict(exports))  # type: ignore[method-assign]
        sys.modules[name] = module


def _exports(package: str, exports: dict[str, str]) -> types.FunctionType:
    def __getattr__(attr: str) -> object:  # noqa: N807 - PEP 562 hook
        submodule = exports.get(attr)
        if submodule is None:
            raise AttributeError(f"module {package!r} has no attribute {attr!r}")
        return getattr(importlib.import_module(f"{package}.{submodule}"), attr)

    return __getattr__  # type: ignore[return-value]
