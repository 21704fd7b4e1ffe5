"""The status aggregator: one leader-only writer of every kind's shared status.

One mechanism for four kinds. For each kind, a controller on the elected leader
(``needs_leader_election``, the Lease of the peering-policy controller) reconciles an
object by computing its aggregate with a pure rule of :mod:`statusrules` (sessions,
the configuration, advertisements, route policies) and applying it to the status
subresource by server-side apply as ``bgpctl-status`` — the only writer of those
conditions and fields, while the nodes own their entries. Every condition carries the
object's ``metadata.generation`` as ``observedGeneration``; its ``lastTransitionTime``
changes only with its status. Nothing is written when nothing changed, so the
aggregator's own write (which re-triggers it) ends in a no-op, and a steady cluster
causes no writes. Peering policies are not aggregated: their controller is the single
writer of their status.

Triggers: any change of the object (node entries are status changes) and, for
advertisements, creation, deletion and label changes of BGPEndpoints (the
``NoNodeSelected`` rule looks at them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from bgpctl.api.meta import Condition, find_condition, set_condition
from bgpctl.controllers.resources import (
    BGP_ADVERTISEMENTS,
    BGP_CONFIGURATIONS,
    BGP_ENDPOINTS,
    BGP_ROUTE_POLICIES,
    BGP_SESSIONS,
)
from bgpctl.controllers.statusrules import (
    Aggregate,
    Context,
    advertisement_status,
    configuration_status,
    route_policy_status,
    session_status,
)
from bgpctl.runtime.builder import Builder
from bgpctl.runtime.cache.informers import InformerCache
from bgpctl.runtime.client.errors import NotFound
from bgpctl.runtime.client.interfaces import ResourceType, Writer
from bgpctl.runtime.controller import Controller, ControllerOptions
from bgpctl.runtime.handler import enqueue_from_map_func
from bgpctl.runtime.manager import Manager
from bgpctl.runtime.predicate import labels_changed
from bgpctl.runtime.reconcile import Request, Result
from bgpctl.runtime.runnable import Rebuilding

FIELD_MANAGER = "bgpctl-status"
"""Field manager of every aggregate status write."""

Rule = Callable[[Mapping[str, Any], Context], Aggregate]

RULES: tuple[tuple[ResourceType, Rule], ...] = (
    (BGP_SESSIONS, session_status),
    (BGP_CONFIGURATIONS, configuration_status),
    (BGP_ADVERTISEMENTS, advertisement_status),
    (BGP_ROUTE_POLICIES, route_policy_status),
)
"""The kinds aggregated and their rules."""


class AggregateReconciler:
    """Applies ``rule``'s aggregate of one kind's objects; see the module docstring.

    Args:
        cache: Informer cache (the kind, BGPEndpoints).
        client: Applies the status.
        resource: The kind.
        rule: Object (+ context) -> aggregate.
    """

    def __init__(
        self, *, cache: InformerCache, client: Writer, resource: ResourceType, rule: Rule
    ) -> None:
        self._cache = cache
        self._client = client
        self._resource = resource
        self._rule = rule
        self.writes = 0
        """Status writes so far."""

    def map_all(self, _obj: dict[str, Any]) -> list[Request]:
        """Any event -> every object of the kind."""
        return [
            Request(name=o["metadata"]["name"])
            for o in self._cache.get_informer(self._resource).indexer.list()
        ]

    async def reconcile(self, request: Request) -> Result:
        """Compute and (when changed) apply the aggregate status."""
        try:
            raw = await self._cache.get(self._resource, request.name)
        except NotFound:
            return Result()
        endpoints = {
            e["metadata"]["name"]: dict(e["metadata"].get("labels") or {})
            for e in self._cache.get_informer(BGP_ENDPOINTS).indexer.list()
        }
        aggregate = self._rule(raw, Context(endpoints=endpoints))
        body = desired_status(raw, aggregate)
        if body is None:
            return Result()
        try:
            await self._client.status().apply(
                self._resource, body, field_manager=FIELD_MANAGER, force=True
            )
        except NotFound:
            return Result()
        self.writes += 1
        return Result()


def desired_status(raw: Mapping[str, Any], aggregate: Aggregate) -> dict[str, Any] | None:
    """The apply body for ``aggregate``, or None when the object already shows it."""
    status = raw.get("status") or {}
    generation = (raw.get("metadata") or {}).get("generation")
    current = [Condition.model_validate(c) for c in status.get("conditions") or []]
    changed = any(status.get(k) != v for k, v in aggregate.fields.items())
    conditions: list[Condition] = current
    for cond in aggregate.conditions:
        previous = find_condition(current, cond.type)
        if previous is None or (
            previous.status,
            previous.reason,
            previous.message,
            previous.observed_generation,
        ) != (cond.status, cond.reason, cond.message[:32768], generation):
            changed = True
        conditions = set_condition(
            conditions,
            type=cond.type,
            status=cond.status,
            reason=cond.reason,
            message=cond.message[:32768],
            observed_generation=generation,
        )
    if not changed:
        return None
    owned = {c.type for c in aggregate.conditions}
    return {
        "apiVersion": raw["apiVersion"],
        "kind": raw["kind"],
        "metadata": {"name": raw["metadata"]["name"]},
        "status": {
            "conditions": [c.to_dict() for c in conditions if c.type in owned],
            **{k: v for k, v in aggregate.fields.items() if v is not None},
        },
    }


def setup_status_aggregator(
    manager: Manager,
    *,
    cache: InformerCache,
    client: Writer,
    options: ControllerOptions | None = None,
) -> list[Rebuilding]:
    """Add the leader-only aggregate-status controllers (one per kind) to ``manager``.

    Each is rebuilt whenever this process wins the lease (again). The cache must have
    been prepared and added by the caller (``setup_node_agent``).
    """
    options = dataclasses.replace(options or ControllerOptions(), needs_leader_election=True)
    runnables = []
    for resource, rule in RULES:

        def build(resource: ResourceType = resource, rule: Rule = rule) -> Controller:
            reconciler = AggregateReconciler(
                cache=cache, client=client, resource=resource, rule=rule
            )
            builder = Builder(f"status-{resource.kind.lower()}").for_(cache.get_informer(resource))
            if resource is BGP_ADVERTISEMENTS:
                builder = builder.watches(
                    cache.get_informer(BGP_ENDPOINTS),
                    enqueue_from_map_func(reconciler.map_all),
                    labels_changed(),
                )
            return builder.with_options(options).complete(reconciler)

        runnable = Rebuilding(build, name=f"status-{resource.kind.lower()}")
        manager.add(runnable)
        runnables.append(runnable)
    return runnables
