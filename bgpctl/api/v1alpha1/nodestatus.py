"""Per-node status entries shared by the kinds every node acts on.

Each node writes only its own entry (server-side apply, field manager
``bgpctl/<node>``), so entries of different nodes never conflict; the aggregate
conditions are derived from them by a single writer.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from pydantic import Field

from bgpctl.api.schema import ApiModel, k8s

ObservedGeneration = Annotated[int | None, Field(ge=0), k8s(format="int64")]
"""A metadata.generation that a status was computed from."""

_Entry = TypeVar("_Entry")

NodeList = Annotated[
    list[_Entry],
    Field(max_length=5000),
    k8s(**{"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["node"]}),
]
"""A list of per-node entries keyed by ``node``: ``NodeList[EntryModel]``."""


class NodeOutcome(ApiModel):
    """What one node did with an object, and why when it could not."""

    node: Annotated[str, Field(max_length=253)]
    """Name of the node's BGPEndpoint."""
    reason: Annotated[
        str,
        Field(min_length=1, max_length=64, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"),
    ]
    """CamelCase reason for the outcome, e.g. Advertised, Conflict, GoBGPError."""
    message: Annotated[str, Field(max_length=1024)] = ""
    """Details a user can act on."""
    observed_generation: ObservedGeneration = None
    """The metadata.generation this node acted on."""
