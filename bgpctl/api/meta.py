"""Shared API building blocks: conditions, label selectors, address families.

Condition mirrors ``metav1.Condition`` field for field (same bounds and patterns) so
``kubectl wait --for=condition=...`` and generic tooling read our statuses.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from bgpctl.api.schema import ApiModel, cel, k8s, rules


class Condition(ApiModel):
    """One aspect of an object's state (metav1.Condition)."""

    type: Annotated[
        str,
        Field(
            max_length=316,
            pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
            r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
        ),
    ]
    """Type of condition in CamelCase, e.g. Ready."""
    status: Literal["True", "False", "Unknown"]
    """Status of the condition: True, False or Unknown."""
    reason: Annotated[
        str,
        Field(min_length=1, max_length=1024, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"),
    ]
    """Machine-readable CamelCase reason for the last transition."""
    message: Annotated[str, Field(max_length=32768)]
    """Human-readable details of the last transition."""
    last_transition_time: Annotated[datetime, k8s(format="date-time")]
    """When the status last changed."""
    observed_generation: Annotated[int | None, Field(ge=0), k8s(format="int64")] = None
    """The metadata.generation the condition was computed from."""


def set_condition(
    conditions: list[Condition],
    *,
    type: str,
    status: Literal["True", "False", "Unknown"],
    reason: str,
    message: str,
    observed_generation: int | None = None,
    now: datetime | None = None,
) -> list[Condition]:
    """Return ``conditions`` with ``type`` set (meta.SetStatusCondition semantics).

    The transition time changes only when the status changes; reason, message and
    observed generation are always overwritten. The input list is not modified.
    """
    stamp = (now or datetime.now(UTC)).replace(microsecond=0)
    previous = find_condition(conditions, type)
    updated = Condition(
        type=type,
        status=status,
        reason=reason,
        message=message,
        observed_generation=observed_generation,
        last_transition_time=(
            previous.last_transition_time
            if previous is not None and previous.status == status
            else stamp
        ),
    )
    if previous is None:
        return [*conditions, updated]
    return [updated if c.type == type else c for c in conditions]


def find_condition(conditions: list[Condition], type: str) -> Condition | None:
    """The condition of ``type``, if present."""
    return next((c for c in conditions if c.type == type), None)


ConditionList = Annotated[
    list[Condition],
    Field(max_length=32),
    k8s(**{"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]}),
]


class LabelSelectorRequirement(ApiModel):
    """A label requirement: key, operator and values."""

    model_config = rules(
        cel(
            "self.operator in ['Exists', 'DoesNotExist'] ? "
            "(!has(self.values) || size(self.values) == 0) : "
            "(has(self.values) && size(self.values) > 0)",
            "values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist",
        )
    )

    key: Annotated[str, Field(min_length=1, max_length=317)]
    """The label key the selector applies to."""
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    """How the key relates to the values."""
    values: Annotated[
        list[Annotated[str, Field(max_length=63)]] | None,
        Field(max_length=64),
        k8s(**{"x-kubernetes-list-type": "atomic"}),
    ] = None
    """Values for In and NotIn; empty for Exists and DoesNotExist."""


class LabelSelector(ApiModel):
    """A label query over objects (metav1.LabelSelector); empty selects everything."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-map-type": "atomic"})

    match_labels: dict[str, Annotated[str, Field(max_length=63)]] | None = None
    """Labels that must all be present with exactly these values."""
    match_expressions: Annotated[
        list[LabelSelectorRequirement] | None,
        Field(max_length=32),
        k8s(**{"x-kubernetes-list-type": "atomic"}),
    ] = None
    """Requirements that must all hold."""

    def matches(self, labels: dict[str, str]) -> bool:
        """True when ``labels`` satisfy every requirement of this selector."""
        for key, value in (self.match_labels or {}).items():
            if labels.get(key) != value:
                return False
        for req in self.match_expressions or []:
            present = req.key in labels
            values = req.values or []
            if req.operator == "In" and (not present or labels[req.key] not in values):
                return False
            if req.operator == "NotIn" and present and labels[req.key] in values:
                return False
            if req.operator == "Exists" and not present:
                return False
            if req.operator == "DoesNotExist" and present:
                return False
        return True


class AddressFamily(ApiModel):
    """A BGP address family (AFI/SAFI)."""

    afi: Literal["IPv4", "IPv6"]
    """Address family identifier."""
    safi: Literal["Unicast", "Multicast"] = "Unicast"
    """Subsequent address family identifier."""


AddressFamilyList = Annotated[
    list[AddressFamily],
    Field(max_length=4),
    k8s(
        **{
            "x-kubernetes-list-type": "atomic",
            "x-kubernetes-validations": [
                cel(
                    "self.all(x, self.exists_one(y, y.afi == x.afi && y.safi == x.safi))",
                    "address families must not repeat",
                )
            ],
        }
    ),
]
