"""Fluent wiring of a controller: what it reconciles, what it owns, what else it watches.

Mirrors controller-runtime pkg/builder, reduced to what we use:

- ``for_(informer)`` watches the reconciled kind itself (enqueue the object);
- ``owns(informer, owner_kind, owner_group=...)`` watches a dependent kind and enqueues
  its controlling owner;
- ``watches(informer, handler)`` watches any kind with any handler;
- ``watches_raw_source(source)`` adds a ready-made source (a ``Channel``);
- ``with_event_filter(pred)`` adds a predicate to every informer-backed watch;
- ``with_options(options)`` sets ``ControllerOptions``;
- ``complete(reconciler)`` builds the ``Controller``.

Upstream infers names, kinds and owner scope from Go types through the scheme and a
RESTMapper, and adds the controller to the manager. Our informers are untyped, so the
name is given to the constructor and the owner's kind and group to ``owns``; the caller
adds the returned controller to the manager (the builder sits above the controller and
never imports the manager). As upstream, global event filters do not apply to raw
sources.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bgpctl.runtime.cache.interfaces import Informer
from bgpctl.runtime.controller import Controller, ControllerOptions
from bgpctl.runtime.handler import EventHandler, enqueue_for_object, enqueue_for_owner
from bgpctl.runtime.predicate import Predicate
from bgpctl.runtime.reconcile import Reconciler
from bgpctl.runtime.source import Kind, Source


@dataclass(slots=True)
class _Watch:
    informer: Informer
    handler: EventHandler
    predicates: tuple[Predicate, ...]


@dataclass(slots=True)
class Builder:
    """Collects watches for one controller; ``complete`` builds it.

    Args:
        name: The controller's name (logs, metrics, queue name).
    """

    name: str
    _for: _Watch | None = field(default=None, init=False)
    _watches: list[_Watch] = field(default_factory=list, init=False)
    _raw: list[Source] = field(default_factory=list, init=False)
    _filters: list[Predicate] = field(default_factory=list, init=False)
    _options: ControllerOptions = field(default_factory=ControllerOptions, init=False)

    def for_(self, informer: Informer, *predicates: Predicate) -> Builder:
        """Reconcile the objects of ``informer``'s kind.

        Raises:
            ValueError: Called twice.
        """
        if self._for is not None:
            raise ValueError("for_() can only be called once")
        self._for = _Watch(informer, enqueue_for_object(), predicates)
        return self

    def owns(
        self,
        informer: Informer,
        owner_kind: str,
        *predicates: Predicate,
        owner_group: str,
        only_controller: bool = True,
        owner_namespaced: bool = False,
    ) -> Builder:
        """Watch dependents in ``informer`` and reconcile their owner of ``owner_kind``.

        Args:
            informer: Informer of the dependent kind.
            owner_kind: Kind of the reconciled (owning) object.
            *predicates: Extra filters for this watch.
            owner_group: API group of the owning kind ("" for core).
            only_controller: Follow only the controller reference (upstream default).
            owner_namespaced: The owning kind is namespaced.
        """
        handler = enqueue_for_owner(
            owner_group=owner_group,
            owner_kind=owner_kind,
            only_controller=only_controller,
            owner_namespaced=owner_namespaced,
        )
        self._watches.append(_Watch(informer, handler, predicates))
        return self

    def watches(self, informer: Informer, handler: EventHandler, *predicates: Predicate) -> Builder:
        """Watch ``informer`` and map its events with ``handler``."""
        self._watches.append(_Watch(informer, handler, predicates))
        return self

    def watches_raw_source(self, source: Source) -> Builder:
        """Add a prepared source as is (global event filters do not apply)."""
        self._raw.append(source)
        return self

    def with_event_filter(self, predicate: Predicate) -> Builder:
        """Apply ``predicate`` to every informer-backed watch, in addition to their own."""
        self._filters.append(predicate)
        return self

    def with_options(self, options: ControllerOptions) -> Builder:
        """Use ``options`` for the controller."""
        self._options = options
        return self

    def complete(self, reconciler: Reconciler) -> Controller:
        """Build the controller with its sources (not started).

        Raises:
            ValueError: No watch was configured.
        """
        watches = ([self._for] if self._for is not None else []) + self._watches
        if not watches and not self._raw:
            raise ValueError(f"controller {self.name!r} has nothing to watch")
        controller = Controller(self.name, reconciler, options=self._options)
        filters = tuple(self._filters)
        for watch in watches:
            controller.watch(Kind(watch.informer, watch.handler, *filters, *watch.predicates))
        for source in self._raw:
            controller.watch(source)
        return controller
