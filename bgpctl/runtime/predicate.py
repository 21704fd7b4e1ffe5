"""Predicates: filter events before they reach an event handler.

Mirrors controller-runtime pkg/predicate: ``Funcs`` (per-event-type callables, default
pass), ``new_predicate_funcs(filter)`` (one object filter for every event type; the new
object on update), ``generation_changed``, ``resource_version_changed``,
``annotation_changed``, ``labels_changed``, ``label_selector`` and the combinators
``and_``, ``or_`` and ``not_``. Predicates are synchronous and cheap.

``LabelSelector`` mirrors apimachinery's ``metav1.LabelSelectorAsSelector``: empty
matches everything, ``None`` matches nothing, matchLabels and matchExpressions (In,
NotIn, Exists, DoesNotExist) are ANDed.

Upstream compares annotations and labels with ``reflect.DeepEqual``, so a nil map and an
empty map differ; we treat a missing map as empty, because the API server does too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bgpctl.runtime.event import CreateEvent, DeleteEvent, GenericEvent, UpdateEvent

ObjectFilter = Callable[[dict[str, Any]], bool]
"""Decides on one object."""


class Predicate(Protocol):
    """Decides, per event, whether the handler sees it."""

    def create(self, event: CreateEvent) -> bool:
        """True to let an add through."""
        ...

    def update(self, event: UpdateEvent) -> bool:
        """True to let an update through."""
        ...

    def delete(self, event: DeleteEvent) -> bool:
        """True to let a delete through."""
        ...

    def generic(self, event: GenericEvent) -> bool:
        """True to let a generic event through."""
        ...


@dataclass(frozen=True, slots=True)
class Funcs:
    """A predicate from optional per-event-type functions; a missing one lets all through."""

    on_create: Callable[[CreateEvent], bool] | None = None
    on_update: Callable[[UpdateEvent], bool] | None = None
    on_delete: Callable[[DeleteEvent], bool] | None = None
    on_generic: Callable[[GenericEvent], bool] | None = None

    def create(self, event: CreateEvent) -> bool:
        """``on_create(event)``, or True."""
        return self.on_create is None or self.on_create(event)

    def update(self, event: UpdateEvent) -> bool:
        """``on_update(event)``, or True."""
        return self.on_update is None or self.on_update(event)

    def delete(self, event: DeleteEvent) -> bool:
        """``on_delete(event)``, or True."""
        return self.on_delete is None or self.on_delete(event)

    def generic(self, event: GenericEvent) -> bool:
        """``on_generic(event)``, or True."""
        return self.on_generic is None or self.on_generic(event)


def new_predicate_funcs(keep: ObjectFilter) -> Predicate:
    """A predicate applying ``keep`` to the event's object (the new one on update)."""
    return Funcs(
        on_create=lambda e: keep(e.obj),
        on_update=lambda e: keep(e.new),
        on_delete=lambda e: keep(e.obj),
        on_generic=lambda e: keep(e.obj),
    )


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def generation_changed() -> Predicate:
    """Pass updates only when ``metadata.generation`` changed (spec edits, not status).

    Other event types pass. Objects without a generation compare as 0, as upstream.
    """
    return Funcs(
        on_update=lambda e: _meta(e.old).get("generation", 0) != _meta(e.new).get("generation", 0)
    )


def resource_version_changed() -> Predicate:
    """Pass updates only when ``metadata.resourceVersion`` changed (drops resyncs)."""
    return Funcs(
        on_update=lambda e: (
            _meta(e.old).get("resourceVersion") != _meta(e.new).get("resourceVersion")
        )
    )


def annotation_changed() -> Predicate:
    """Pass updates only when ``metadata.annotations`` changed."""
    return Funcs(
        on_update=lambda e: (
            (_meta(e.old).get("annotations") or {}) != (_meta(e.new).get("annotations") or {})
        )
    )


def labels_changed() -> Predicate:
    """Pass updates only when ``metadata.labels`` changed."""
    return Funcs(
        on_update=lambda e: (_meta(e.old).get("labels") or {}) != (_meta(e.new).get("labels") or {})
    )


def label_selector(selector: Mapping[str, Any]) -> Predicate:
    """Pass events whose object's labels match ``selector`` (a ``metav1.LabelSelector``).

    Raises:
        ValueError: The selector is malformed (see ``LabelSelector.from_dict``).
    """
    parsed = LabelSelector.from_dict(selector)
    return new_predicate_funcs(lambda obj: parsed.matches(_meta(obj).get("labels") or {}))


@dataclass(frozen=True, slots=True)
class _And:
    predicates: tuple[Predicate, ...]

    def create(self, event: CreateEvent) -> bool:
        return all(p.create(event) for p in self.predicates)

    def update(self, event: UpdateEvent) -> bool:
        return all(p.update(event) for p in self.predicates)

    def delete(self, event: DeleteEvent) -> bool:
        return all(p.delete(event) for p in self.predicates)

    def generic(self, event: GenericEvent) -> bool:
        return all(p.generic(event) for p in self.predicates)


@dataclass(frozen=True, slots=True)
class _Or:
    predicates: tuple[Predicate, ...]

    def create(self, event: CreateEvent) -> bool:
        return any(p.create(event) for p in self.predicates)

    def update(self, event: UpdateEvent) -> bool:
        return any(p.update(event) for p in self.predicates)

    def delete(self, event: DeleteEvent) -> bool:
        return any(p.delete(event) for p in self.predicates)

    def generic(self, event: GenericEvent) -> bool:
        return any(p.generic(event) for p in self.predicates)


@dataclass(frozen=True, slots=True)
class _Not:
    predicate: Predicate

    def create(self, event: CreateEvent) -> bool:
        return not self.predicate.create(event)

    def update(self, event: UpdateEvent) -> bool:
        return not self.predicate.update(event)

    def delete(self, event: DeleteEvent) -> bool:
        return not self.predicate.delete(event)

    def generic(self, event: GenericEvent) -> bool:
        return not self.predicate.generic(event)


def and_(*predicates: Predicate) -> Predicate:
    """Pass when every predicate passes (stops at the first that does not); () passes."""
    return _And(predicates)


def or_(*predicates: Predicate) -> Predicate:
    """Pass when any predicate passes (stops at the first that does); () blocks."""
    return _Or(predicates)


def not_(predicate: Predicate) -> Predicate:
    """Pass exactly what ``predicate`` blocks."""
    return _Not(predicate)


_OPERATORS = frozenset({"In", "NotIn", "Exists", "DoesNotExist"})


@dataclass(frozen=True, slots=True)
class Requirement:
    """One matchExpressions entry (or one matchLabels pair, as ``In [value]``)."""

    key: str
    operator: str
    values: frozenset[str]

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this requirement."""
        present = self.key in labels
        if self.operator == "In":
            return present and labels[self.key] in self.values
        if self.operator == "NotIn":
            return not present or labels[self.key] not in self.values
        if self.operator == "Exists":
            return present
        return not present  # DoesNotExist


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A parsed ``metav1.LabelSelector``: all requirements must hold.

    Attributes:
        requirements: ANDed requirements; empty matches every label set.
        matches_nothing: True for the selector parsed from ``None``.
    """

    requirements: tuple[Requirement, ...] = ()
    matches_nothing: bool = False

    @classmethod
    def from_dict(cls, selector: Mapping[str, Any] | None) -> LabelSelector:
        """Parse ``{"matchLabels": {...}, "matchExpressions": [...]}``.

        ``None`` selects nothing; ``{}`` selects everything (apimachinery's rule).

        Raises:
            ValueError: Unknown operator, In/NotIn without values, or Exists/DoesNotExist
                with values.
        """
        if selector is None:
            return cls(matches_nothing=True)
        reqs = [
            Requirement(str(k), "In", frozenset({str(v)}))
            for k, v in (selector.get("matchLabels") or {}).items()
        ]
        for expr in selector.get("matchExpressions") or ():
            reqs.append(_parse_expression(expr))
        return cls(tuple(reqs))

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy every requirement."""
        if self.matches_nothing:
            return False
        return all(req.matches(labels) for req in self.requirements)


def _parse_expression(expr: Mapping[str, Any]) -> Requirement:
    key = expr.get("key")
    op = expr.get("operator")
    values: Iterable[Any] = expr.get("values") or ()
    if not key or op not in _OPERATORS:
        raise ValueError(f"invalid label selector requirement: {dict(expr)!r}")
    vals = frozenset(str(v) for v in values)
    if op in ("In", "NotIn") and not vals:
        raise ValueError(f"operator {op} needs at least one value for key {key!r}")
    if op in ("Exists", "DoesNotExist") and vals:
        raise ValueError(f"operator {op} takes no values for key {key!r}")
    return Requirement(str(key), str(op), vals)
