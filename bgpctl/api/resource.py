"""Typed view of one custom object: metadata as a dict, spec and status as models.

Reconcilers receive raw dicts from the informer cache and call ``Kind.parse`` once;
writes go back as dicts (``spec.to_dict()``, ``status.to_dict()``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from bgpctl.api.schema import ApiModel

SpecT = TypeVar("SpecT", bound=ApiModel)
StatusT = TypeVar("StatusT", bound=ApiModel)

GROUP = "bgp.miloapis.com"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"


@dataclass(frozen=True, slots=True)
class PrinterColumn:
    """An ``additionalPrinterColumns`` entry."""

    name: str
    json_path: str
    type: str = "string"
    description: str = ""
    priority: int = 0


@dataclass(frozen=True, slots=True)
class Kind(Generic[SpecT, StatusT]):
    """Everything the CRD generator and the clients need to know about one kind."""

    kind: str
    plural: str
    short_names: tuple[str, ...]
    spec: type[SpecT]
    status: type[StatusT]
    description: str
    columns: tuple[PrinterColumn, ...] = ()
    rules: tuple[dict[str, str], ...] = ()
    """Object-level CEL rules (they may read ``self.metadata.name``)."""
    categories: tuple[str, ...] = field(default=("bgp",))
    selectable_fields: tuple[str, ...] = ()
    """JSON paths the API server can filter on with field selectors (``.spec.x``)."""

    @property
    def singular(self) -> str:
        """Lower-case kind, e.g. ``bgpsession``."""
        return self.kind.lower()

    def parse(self, obj: dict[str, Any]) -> Resource[SpecT, StatusT]:
        """Build a typed view of a raw object (raises pydantic.ValidationError)."""
        return Resource(
            metadata=obj.get("metadata", {}),
            spec=self.spec.model_validate(obj.get("spec") or {}),
            status=self.status.model_validate(obj.get("status") or {}),
        )

    def new(self, name: str, spec: SpecT, **metadata: Any) -> dict[str, Any]:
        """A raw object ready to create: apiVersion, kind, metadata and spec."""
        return {
            "apiVersion": API_VERSION,
            "kind": self.kind,
            "metadata": {"name": name, **metadata},
            "spec": spec.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class Resource(Generic[SpecT, StatusT]):
    """A parsed custom object."""

    metadata: dict[str, Any]
    spec: SpecT
    status: StatusT

    @property
    def name(self) -> str:
        """metadata.name."""
        return str(self.metadata.get("name", ""))

    @property
    def generation(self) -> int:
        """metadata.generation (0 when absent)."""
        return int(self.metadata.get("generation", 0))

    @property
    def labels(self) -> dict[str, str]:
        """metadata.labels (empty when absent)."""
        return dict(self.metadata.get("labels") or {})
