"""AdvertisementReconciler: the BGPAdvertisements that select this node -> its GoBGP RIB.

One reconcile brings the whole node in line (all advertisements share the node's RIB and
its export policy, and a prefix has one winner among them); the work queue collapses a
burst of changes into one pass. See :mod:`bgpctl.controllers.advertplan` for the rules.

What GoBGP holds is read from GoBGP: the local paths carrying bgpctl's path identifier
(``PATH_TAG``) are read back on every new GoBGP connection and after every StartBgp, and
then kept in step with each successful call. Paths without the tag (added by hand with
the ``gobgp`` CLI, say) are never touched. The export restrictions (``peerSelector``)
are one versioned GoBGP policy, first in the global export assignment.

Order of operations, so that a prefix never reaches a peer it is not meant for:
1. withdraw what is no longer declared, and every path whose set of allowed peers
   shrinks (GoBGP decides whether to send a withdrawal by evaluating the *current*
   export policy, so it must still be the old one);
2. install the new restriction policy and swap it into the export assignment;
3. announce new and changed paths (and re-announce those withdrawn in 1);
4. soft-reset outbound the neighbors that may now receive more (GoBGP does not resend
   by itself when a policy changes).
Then each advertisement's ``status.nodes[]`` entry of this node is written, if changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import AsyncIterator, Callable
from typing import Any

import structlog

from bgpctl.api.meta import LabelSelector
from bgpctl.api.v1alpha1 import BGP_ENDPOINT
from bgpctl.controllers import gobgppolicy
from bgpctl.controllers.advertplan import PATH_TAG, Advert, Outcome, Plan, Restriction, plan
from bgpctl.controllers.gobgppolicy import VersionedPolicy, short_name, versioned
from bgpctl.controllers.nodewide import NodeContext
from bgpctl.controllers.peerselect import neighbors, selected
from bgpctl.controllers.resources import BGP_ADVERTISEMENTS, BGP_ENDPOINTS
from bgpctl.gobgp.errors import GoBGPError, is_retriable
from bgpctl.gobgp.policy import (
    Actions,
    Conditions,
    DefinedSet,
    DefinedType,
    MatchSet,
    MatchType,
    PolicyDirection,
    PrefixMatch,
    RouteAction,
    Statement,
)
from bgpctl.gobgp.types import IPV4_UNICAST, IPV6_UNICAST, IPAddress, IPNetwork, Path
from bgpctl.metrics import bgp as metrics
from bgpctl.runtime.reconcile import Request, Result

log = structlog.get_logger(__name__)

PART = "adv"
POLICY_PREFIX = f"{gobgppolicy.OWNED_PREFIX}{PART}-"


class AdvertisementReconciler:
    """See the module docstring. Requests carry any name: every one means "the node"."""

    def __init__(self, node: NodeContext) -> None:
        self._node = node
        self._cache = node.cache
        self._gobgp = node.gobgp
        self._recorder = node.recorder
        self._me = node.local_endpoint
        self._assignments = node.assignments
        self._status = node.status_writer(BGP_ADVERTISEMENTS)
        self._exported: set[str] = set()  # advertisements with a metric series
        self._originated: dict[IPNetwork, Path] | None = None
        self._lock = asyncio.Lock()  # one writer of this node's originated paths at a time
        self._read_generation = -1
        self._log = log.bind(endpoint=node.local_endpoint)

    def mark_stale(self) -> None:
        """GoBGP lost its RIB (StartBgp): read it again on the next reconcile."""
        self._originated = None

    @contextlib.asynccontextmanager
    async def reannounced(self, scope: Callable[[IPNetwork], bool]) -> AsyncIterator[None]:
        """Withdraw the originated paths in ``scope``, run the body, announce them again.

        For a change of the export policy (the body): GoBGP sends a withdrawal only when
        the *current* policy would have let the path out, and its outbound soft reset
        never withdraws, so a path the new policy rejects is taken back from every peer
        first, and announced again under the new policy.
        """
        async with self._lock:
            originated = await self._read_originated()
            paths = [p for prefix, p in originated.items() if scope(prefix)]
            await self._send([p.withdrawal() for p in paths], originated)
            try:
                yield
            finally:
                await self._send(paths, originated)
            if paths:
                self._log.info("paths re-announced after an export policy change", paths=len(paths))

    async def reconcile(self, _request: Request) -> Result:
        """Bring this node's originated paths and export restrictions to the declared state."""
        async with self._lock:
            return await self._reconcile()

    async def _reconcile(self) -> Result:
        if not await self._node.gobgp_started():
            return Result()  # the configuration reconciler's StartBgp triggers us again
        originated = await self._read_originated()
        raws = self._cache.get_informer(BGP_ADVERTISEMENTS).indexer.list()
        adverts, invalid = _parse_all(raws)
        local = self._local_endpoint()
        if local is None:
            result = Plan({}, (), {}, {})
        else:
            labels, address = local
            candidates = neighbors(self._cache, self._me)

            def peers_for(selector: LabelSelector) -> frozenset[IPAddress]:
                return selected(candidates, selector)

            result = plan(adverts, node_labels=labels, next_hop=address, peers_for=peers_for)
        all_peers = frozenset(n.address for n in neighbors(self._cache, self._me))
        failed = await self._apply(originated, result, all_peers)
        outcomes = dict(result.outcomes)
        for name, error in failed.items():
            old = outcomes.get(name)
            outcomes[name] = Outcome(
                False, "GoBGPError", error, old.prefixes if old else 0, old.generation if old else 0
            )
        if local is not None:
            for name, (generation, error) in invalid.items():
                outcomes[name] = Outcome(False, "InvalidSpec", error, 0, generation)
        await self._report(raws, outcomes)
        return Result()

    # -- GoBGP ------------------------------------------------------------------------------

    async def _read_originated(self) -> dict[IPNetwork, Path]:
        generation = self._gobgp.generation
        if self._originated is None or generation != self._read_generation:
            originated: dict[IPNetwork, Path] = {}
            for family in (IPV4_UNICAST, IPV6_UNICAST):
                for path in await self._gobgp.list_paths(family):
                    if path.is_local and path.identifier == PATH_TAG:
                        originated[path.prefix] = path
            self._originated, self._read_generation = originated, generation
            self._log.info("originated paths read from GoBGP", paths=len(originated))
        return self._originated

    async def _apply(
        self, originated: dict[IPNetwork, Path], result: Plan, all_peers: frozenset[IPAddress]
    ) -> dict[str, str]:
        """Steps 1-4 of the module docstring; returns per-advertisement GoBGP errors."""
        old_allowed = await self._installed_restrictions()
        new_allowed = {p: r.peers for r in result.restrictions for p in r.prefixes}
        shrinking = {
            prefix
            for prefix in originated
            if _allowed(old_allowed, prefix, all_peers) - _allowed(new_allowed, prefix, all_peers)
        }
        gaining: set[IPAddress] = set()
        for prefix in result.paths:
            gaining |= _allowed(new_allowed, prefix, all_peers) - _allowed(
                old_allowed, prefix, all_peers
            )
        withdraw = [
            path
            for prefix, path in originated.items()
            if prefix not in result.paths or prefix in shrinking
        ]
        await self._send([p.withdrawal() for p in withdraw], originated)
        policy = _restriction_policy(result.restrictions)
        if policy is not None:
            await gobgppolicy.install(self._gobgp, policy)
        await self._assignments.set_part(
            self._gobgp, PART, PolicyDirection.EXPORT, (policy.name,) if policy else ()
        )
        await gobgppolicy.remove_unused(
            self._gobgp, POLICY_PREFIX, {policy.name} if policy else set()
        )
        announce = [path for prefix, path in result.paths.items() if originated.get(prefix) != path]
        failed = await self._send(announce, originated, owners=result.owners)
        for peer in sorted(gaining & all_peers, key=str):
            try:
                await self._gobgp.reset_peer(peer, soft=True, direction="out")
            except GoBGPError as err:
                if is_retriable(err):
                    raise
                self._log.info("soft reset out skipped", peer=str(peer), error=str(err))
        if withdraw or announce:
            self._log.info("paths applied", announced=len(announce), withdrawn=len(withdraw))
        return failed

    async def _send(
        self,
        paths: list[Path],
        originated: dict[IPNetwork, Path],
        *,
        owners: dict[IPNetwork, str] | None = None,
    ) -> dict[str, str]:
        """Announce/withdraw ``paths`` (bulk; one by one to isolate a refused path)."""
        if not paths:
            return {}
        failed: dict[str, str] = {}
        try:
            await self._gobgp.add_paths(paths)
        except GoBGPError as err:
            if is_retriable(err):
                raise
            for path in paths:
                try:
                    await self._gobgp.add_path(path)
                except GoBGPError as one:
                    if is_retriable(one):
                        raise
                    owner = (owners or {}).get(path.prefix)
                    if owner is not None:
                        failed.setdefault(owner, f"GoBGP refused {path.prefix}: {one}")
                    continue
                _record(originated, path)
            return failed
        for path in paths:
            _record(originated, path)
        return failed

    async def _installed_restrictions(self) -> dict[IPNetwork, frozenset[IPAddress]]:
        """Prefix -> allowed neighbors, as the assigned restriction policy says in GoBGP."""
        assignments = await self._gobgp.list_policy_assignments(PolicyDirection.EXPORT)
        names = [p for a in assignments for p in a.policies if p.startswith(POLICY_PREFIX)]
        if not names:
            return {}
        sets = {
            s.name: s
            for type_ in (DefinedType.PREFIX, DefinedType.NEIGHBOR)
            for s in await self._gobgp.list_defined_sets(type_)
            if s.name.startswith(names[0])
        }
        out: dict[IPNetwork, frozenset[IPAddress]] = {}
        for policy in await self._gobgp.list_policies(names[0]):
            for statement in policy.statements:
                cond = statement.conditions
                if cond.prefix_set is None or cond.prefix_set.name not in sets:
                    continue
                peers: frozenset[IPAddress] = frozenset()
                if cond.neighbor_set is not None and cond.neighbor_set.name in sets:
                    items = sets[cond.neighbor_set.name].items
                    peers = frozenset(ipaddress.ip_interface(i).ip for i in items)
                for match in sets[cond.prefix_set.name].prefixes:
                    out[match.prefix] = peers
        return out

    # -- cache and status -------------------------------------------------------------------

    def _local_endpoint(self) -> tuple[dict[str, str], IPAddress] | None:
        raw = self._cache.get_informer(BGP_ENDPOINTS).indexer.get_by_key(self._me)
        if raw is None:
            return None
        try:
            spec = BGP_ENDPOINT.parse(raw).spec
            address = ipaddress.ip_address(spec.address)
        except ValueError:
            return None
        return dict((raw.get("metadata") or {}).get("labels") or {}), address

    async def _report(self, raws: list[dict[str, Any]], outcomes: dict[str, Outcome]) -> None:
        changes = []
        for raw in raws:
            name = raw["metadata"]["name"]
            outcome = outcomes.get(name)
            entry = None if outcome is None else _entry(outcome)
            if not self._status.needs_write(raw, entry):
                continue
            changes.append((raw, entry))
            if outcome is not None and outcome.reason in ("Conflict", "GoBGPError", "InvalidSpec"):
                self._recorder.warning(raw, outcome.reason, f"{self._me}: {outcome.message}")
        await self._status.write_all(changes)
        for name in self._exported - outcomes.keys():
            metrics.forget_advertisement(name)
        for name, outcome in outcomes.items():
            metrics.set_advertised_prefixes(name, outcome.prefixes)
        self._exported = set(outcomes)


def _entry(outcome: Outcome) -> dict[str, Any]:
    return {
        "advertised": outcome.advertised,
        "advertisedPrefixes": outcome.prefixes,
        "reason": outcome.reason,
        "message": outcome.message[:1024],
        "observedGeneration": outcome.generation,
    }


def _parse_all(raws: list[dict[str, Any]]) -> tuple[list[Advert], dict[str, tuple[int, str]]]:
    adverts, invalid = [], {}
    for raw in raws:
        meta = raw.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        try:
            adverts.append(Advert.parse(raw))
        except ValueError as err:
            invalid[meta.get("name", "")] = (
                int(meta.get("generation") or 0),
                f"invalid spec: {err}",
            )
    return adverts, invalid


def _allowed(
    allowed: dict[IPNetwork, frozenset[IPAddress]],
    prefix: IPNetwork,
    everyone: frozenset[IPAddress],
) -> frozenset[IPAddress]:
    return allowed.get(prefix, everyone)


def _record(originated: dict[IPNetwork, Path], path: Path) -> None:
    if path.is_withdraw:
        originated.pop(path.prefix, None)
    else:
        originated[path.prefix] = path


def _restriction_policy(restrictions: tuple[Restriction, ...]) -> VersionedPolicy | None:
    if not restrictions:
        return None
    sets: dict[str, DefinedSet] = {}
    statements = []
    for i, r in enumerate(sorted(restrictions, key=lambda r: r.advertisement)):
        sets[f"p{i}"] = DefinedSet(
            DefinedType.PREFIX,
            f"p{i}",
            prefixes=tuple(PrefixMatch(p) for p in sorted(r.prefixes, key=str)),
        )
        neighbor_set = None
        if r.peers:  # an empty neighbor set would match every neighbor in GoBGP
            sets[f"n{i}"] = DefinedSet(
                DefinedType.NEIGHBOR,
                f"n{i}",
                items=tuple(f"{a}/{a.max_prefixlen}" for a in sorted(r.peers, key=str)),
            )
            neighbor_set = MatchSet(f"n{i}", MatchType.INVERT)
        statements.append(
            Statement(
                conditions=Conditions(prefix_set=MatchSet(f"p{i}"), neighbor_set=neighbor_set),
                actions=Actions(route_action=RouteAction.REJECT),
            )
        )
    return versioned(short_name(PART, "restrictions"), sets, statements)
