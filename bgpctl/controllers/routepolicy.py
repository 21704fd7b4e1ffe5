"""RoutePolicyReconciler: the BGPRoutePolicies -> this node's GoBGP import/export policies.

One reconcile brings the whole node in line: the policies of one direction share one
GoBGP assignment, in a documented order (:mod:`bgpctl.controllers.routepolicyplan`).
Each policy is installed as a versioned GoBGP policy
(:mod:`bgpctl.controllers.gobgppolicy`): an update installs the new version, swaps it
into the assignment in one call and deletes the old one; a deleted BGPRoutePolicy's
GoBGP policy, statements and sets are removed once it is out of the assignment. Policies
bgpctl did not create are never detached or deleted.

GoBGP does not re-evaluate routes when a policy changes; after an assignment changed,
this node's neighbors are soft-reset in that direction (inbound: routes already received
are filtered again from GoBGP's Adj-RIB-In; outbound: routes now accepted are sent).
GoBGP's outbound soft reset does not withdraw a learned route that an export policy now
rejects; it is withdrawn from that peer at the route's next change or session reset.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, Literal

import structlog

from bgpctl.api.v1alpha1 import BGP_ROUTE_POLICY
from bgpctl.controllers import gobgppolicy
from bgpctl.controllers.gobgppolicy import VersionedPolicy
from bgpctl.controllers.nodewide import NodeContext
from bgpctl.controllers.peerselect import neighbors, selected
from bgpctl.controllers.resources import BGP_ENDPOINTS, BGP_ROUTE_POLICIES
from bgpctl.controllers.routepolicyplan import PART, PolicyOutcome, build, direction
from bgpctl.gobgp.errors import GoBGPError, is_retriable
from bgpctl.gobgp.policy import DefinedType, PolicyDirection, PrefixMatch
from bgpctl.gobgp.types import IPAddress, IPNetwork
from bgpctl.metrics import bgp as metrics
from bgpctl.runtime.reconcile import Request, Result

log = structlog.get_logger(__name__)

POLICY_PREFIX = f"{gobgppolicy.OWNED_PREFIX}{PART}-"
_RESET: dict[PolicyDirection, Literal["in", "out"]] = {
    PolicyDirection.IMPORT: "in",
    PolicyDirection.EXPORT: "out",
}


class RoutePolicyReconciler:
    """See the module docstring. Requests carry any name: every one means "the node"."""

    def __init__(
        self,
        node: NodeContext,
        *,
        reannounced: Callable[
            [Callable[[IPNetwork], bool]], contextlib.AbstractAsyncContextManager[None]
        ] = lambda _scope: contextlib.nullcontext(),
    ) -> None:
        """``reannounced``: the advertisement reconciler's, for export changes."""
        self._node = node
        self._cache = node.cache
        self._gobgp = node.gobgp
        self._recorder = node.recorder
        self._me = node.local_endpoint
        self._assignments = node.assignments
        self._reannounced = reannounced
        self._status = node.status_writer(BGP_ROUTE_POLICIES)
        self._exported: set[str] = set()  # policies with a metric series
        self._log = log.bind(endpoint=node.local_endpoint)

    async def reconcile(self, _request: Request) -> Result:
        """Install, assign and clean up this node's route policies; report per policy."""
        if not await self._node.gobgp_started():
            return Result()  # the configuration reconciler's StartBgp triggers us again
        raws = [
            r
            for r in self._cache.get_informer(BGP_ROUTE_POLICIES).indexer.list()
            if not (r.get("metadata") or {}).get("deletionTimestamp")
        ]
        is_node = self._cache.get_informer(BGP_ENDPOINTS).indexer.get_by_key(self._me) is not None
        candidates = neighbors(self._cache, self._me)
        everyone = selected(candidates, None)
        outcomes: dict[str, PolicyOutcome] = {}
        wanted: dict[PolicyDirection, list[tuple[str, VersionedPolicy]]] = {
            PolicyDirection.IMPORT: [],
            PolicyDirection.EXPORT: [],
        }
        for raw in sorted(raws, key=lambda r: r["metadata"]["name"]):
            name, generation = raw["metadata"]["name"], int(raw["metadata"].get("generation") or 0)
            try:
                spec = BGP_ROUTE_POLICY.parse(raw).spec
            except ValueError as err:
                outcomes[name] = PolicyOutcome(
                    False, "InvalidSpec", f"invalid spec: {err}", 0, generation
                )
                continue
            peers: frozenset[IPAddress] | None = None
            if spec.peer_selector is not None:
                peers = selected(candidates, spec.peer_selector)
                if not peers:
                    outcomes[name] = PolicyOutcome(
                        False,
                        "NoMatchingPeers",
                        "peerSelector matches no neighbor of this node; "
                        "the policy applies to no peer",
                        0,
                        generation,
                    )
                    continue
            policy = build(name, spec, peers)
            try:
                await gobgppolicy.install(self._gobgp, policy)
            except GoBGPError as err:
                if is_retriable(err):
                    raise
                outcomes[name] = PolicyOutcome(False, "GoBGPError", f"GoBGP: {err}", 0, generation)
                continue
            wanted[direction(spec)].append((name, policy))
            count = len(peers if peers is not None else everyone)
            kind = spec.type.lower()
            outcomes[name] = PolicyOutcome(
                True,
                "Applied",
                f"{kind} policy {policy.name} applies to {count} neighbor(s)",
                count,
                generation,
            )
        for way, policies in wanted.items():
            names = tuple(p.name for _, p in policies)
            if way == PolicyDirection.EXPORT:
                changed = await self._swap_export(names)
            else:
                changed = await self._assignments.set_part(self._gobgp, PART, way, names)
            if changed:
                await self._soft_reset(way, everyone)
        keep = {p.name for policies in wanted.values() for _, p in policies}
        removed = await gobgppolicy.remove_unused(self._gobgp, POLICY_PREFIX, keep)
        if removed:
            self._log.info("route policies removed from GoBGP", policies=removed)
        await self._report(raws if is_node else [], outcomes if is_node else {}, raws)
        return Result()

    async def _swap_export(self, names: tuple[str, ...]) -> bool:
        """Swap the export part, re-announcing this node's own paths the change may affect."""
        current = await self._gobgp.list_policy_assignments(PolicyDirection.EXPORT)
        old = {p for a in current for p in a.policies if p.startswith(POLICY_PREFIX)}
        changed = old ^ set(names)
        if not changed:
            return False
        scope = await self._scope(changed)
        async with self._reannounced(scope):
            swapped: bool = await self._assignments.set_part(
                self._gobgp, PART, PolicyDirection.EXPORT, names
            )
        return swapped

    async def _scope(self, policies: set[str]) -> Callable[[IPNetwork], bool]:
        """Which prefixes the statements of ``policies`` can match."""
        sets = {s.name: s for s in await self._gobgp.list_defined_sets(DefinedType.PREFIX)}
        matches: list[PrefixMatch] = []
        for name in sorted(policies):
            for policy in await self._gobgp.list_policies(name):
                for statement in policy.statements:
                    ref = statement.conditions.prefix_set
                    if ref is None:
                        return lambda _prefix: True
                    if ref.name in sets:
                        matches.extend(sets[ref.name].prefixes)
        return lambda prefix: any(_matches(m, prefix) for m in matches)

    async def _soft_reset(self, way: PolicyDirection, peers: frozenset[IPAddress]) -> None:
        for peer in sorted(peers, key=str):
            try:
                await self._gobgp.reset_peer(peer, soft=True, direction=_RESET[way])
            except GoBGPError as err:
                if is_retriable(err):
                    raise
                self._log.debug("soft reset skipped", peer=str(peer), error=str(err))

    async def _report(
        self,
        acted: list[dict[str, Any]],
        outcomes: dict[str, PolicyOutcome],
        every: list[dict[str, Any]],
    ) -> None:
        changes = []
        for raw in every:
            outcome = outcomes.get(raw["metadata"]["name"]) if raw in acted else None
            entry = None if outcome is None else _entry(outcome)
            if not self._status.needs_write(raw, entry):
                continue
            changes.append((raw, entry))
            if outcome is not None and not outcome.applied:
                self._recorder.warning(raw, outcome.reason, f"{self._me}: {outcome.message}")
        await self._status.write_all(changes)
        for name in self._exported - outcomes.keys():
            metrics.forget_route_policy(name)
        for name, outcome in outcomes.items():
            metrics.set_route_policy_applied(name, outcome.applied)
        self._exported = set(outcomes)


def _matches(match: PrefixMatch, prefix: IPNetwork) -> bool:
    low, high = match.bounds()
    return (
        prefix.version == match.prefix.version
        and prefix.subnet_of(match.prefix)  # type: ignore[arg-type]
        and low <= prefix.prefixlen <= high
    )


def _entry(outcome: PolicyOutcome) -> dict[str, Any]:
    return {
        "applied": outcome.applied,
        "peers": outcome.peers,
        "reason": outcome.reason,
        "message": outcome.message[:1024],
        "observedGeneration": outcome.generation,
    }
