"""Versioned GoBGP policies and the global assignments they are attached to.

GoBGP never replaces a policy or a defined set: adding a set that exists appends to it,
adding a policy whose statements exist fails ("already defined", gRPC code Unknown).
bgpctl therefore never edits one in place. Each policy it installs is *versioned*: its
name ends in a hash of its whole content (statements and the entries of its sets), and
its sets are named after it. A change installs the new version next to the old one,
swaps the assignment in one ``SetPolicyAssignment`` call, and only then deletes the old
version, so there is no moment without the policy and none with a half-built one.

Everything bgpctl creates is named ``bgpctl-…``; policies of any other name in an
assignment are kept, after ours, and never detached or deleted.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field

import structlog

from bgpctl.gobgp.client import GoBGPClient
from bgpctl.gobgp.errors import GoBGPError, is_already_exists, is_not_found
from bgpctl.gobgp.policy import (
    DefinedSet,
    DefinedType,
    Policy,
    PolicyAssignment,
    PolicyDirection,
    RouteAction,
    Statement,
)

log = structlog.get_logger(__name__)

OWNED_PREFIX = "bgpctl-"
"""Every GoBGP policy and defined set bgpctl creates starts with this."""


def short_name(kind: str, name: str) -> str:
    """``bgpctl-<kind>-<name>``, with long names cut and made unique by a hash."""
    if len(name) <= 40:
        return f"{OWNED_PREFIX}{kind}-{name}"
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{OWNED_PREFIX}{kind}-{name[:30]}-{digest}"


@dataclass(frozen=True, slots=True)
class VersionedPolicy:
    """A policy and the defined sets only it uses.

    Build with :func:`versioned`: the name then carries the content hash, and each set's
    name starts with the policy's name.
    """

    base: str
    name: str
    sets: tuple[DefinedSet, ...]
    statements: tuple[Statement, ...]


def versioned(
    base: str, sets: dict[str, DefinedSet], statements: list[Statement]
) -> VersionedPolicy:
    """Name ``base`` + content hash; ``sets`` are keyed by a short local name.

    Statements refer to sets by their local key (``MatchSet(name=<key>)``); the keys are
    rewritten to the final set names here.
    """
    content = repr((sorted(sets.items()), statements)).encode()
    name = f"{base}-{hashlib.sha256(content).hexdigest()[:10]}"
    final = {key: f"{name}-{key}" for key in sets}
    renamed_sets = tuple(
        DefinedSet(s.type, final[key], s.prefixes, s.items) for key, s in sorted(sets.items())
    )
    return VersionedPolicy(
        base=base,
        name=name,
        sets=renamed_sets,
        statements=tuple(_rename(s, final) for s in statements),
    )


def _rename(statement: Statement, final: dict[str, str]) -> Statement:
    from dataclasses import replace

    c = statement.conditions
    conditions = replace(
        c,
        prefix_set=replace(c.prefix_set, name=final[c.prefix_set.name]) if c.prefix_set else None,
        neighbor_set=(
            replace(c.neighbor_set, name=final[c.neighbor_set.name]) if c.neighbor_set else None
        ),
    )
    return replace(statement, conditions=conditions)


async def install(gobgp: GoBGPClient, policy: VersionedPolicy) -> None:
    """Create the policy's sets and the policy itself; present already counts as done."""
    for defined in policy.sets:
        await gobgp.add_defined_set(defined)  # same name = same content: appending is a no-op
    try:
        await gobgp.add_policy(Policy(policy.name, policy.statements))
    except GoBGPError as err:
        if not is_already_exists(err):
            raise


async def remove(gobgp: GoBGPClient, name: str) -> None:
    """Delete an (unassigned) policy, its statements and the sets named after it."""
    try:
        await gobgp.delete_policy(name)
    except GoBGPError as err:
        if not is_not_found(err):
            raise
    for type_ in (DefinedType.PREFIX, DefinedType.NEIGHBOR):
        for defined in await gobgp.list_defined_sets(type_):
            if defined.name.startswith(f"{name}-"):
                try:
                    await gobgp.delete_defined_set(type_, defined.name)
                except GoBGPError as err:
                    if not is_not_found(err):
                        raise


async def remove_unused(gobgp: GoBGPClient, kind_prefix: str, keep: set[str]) -> list[str]:
    """Delete our policies starting with ``kind_prefix`` that are not in ``keep``.

    Call after the assignments stopped referring to them. Returns the names removed.
    """
    removed = []
    for policy in await gobgp.list_policies():
        if policy.name.startswith(kind_prefix) and policy.name not in keep:
            await remove(gobgp, policy.name)
            removed.append(policy.name)
    # Sets whose policy is gone (a crash between creating sets and the policy).
    names = {p.name for p in await gobgp.list_policies()}
    for type_ in (DefinedType.PREFIX, DefinedType.NEIGHBOR):
        for defined in await gobgp.list_defined_sets(type_):
            owner = defined.name.rsplit("-", 1)[0]
            if defined.name.startswith(kind_prefix) and owner not in names and owner not in keep:
                try:
                    await gobgp.delete_defined_set(type_, defined.name)
                except GoBGPError as err:
                    if not is_not_found(err):
                        raise
    return removed


@dataclass
class Assignments:
    """The global import and export assignments, composed from named parts.

    Each reconciler owns one part (a list of policy names per direction); parts are
    concatenated in the order given at construction, followed by any policy bgpctl does
    not own. The default action stays ACCEPT (routes no statement decided on pass), unless
    someone else's policies are assigned with another default, which is kept.
    """

    order: tuple[str, ...]
    _parts: dict[tuple[str, PolicyDirection], tuple[str, ...]] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def set_part(
        self, gobgp: GoBGPClient, part: str, direction: PolicyDirection, policies: tuple[str, ...]
    ) -> bool:
        """Make ``part``'s policies in ``direction`` exactly ``policies``; True if GoBGP changed."""
        if part not in self.order:
            raise ValueError(f"unknown assignment part {part!r}")
        async with self._lock:
            self._parts[(part, direction)] = policies
            current = await gobgp.list_policy_assignments(direction)
            assigned = current[0].policies if current else ()
            default = current[0].default_action if current else RouteAction.NONE
            foreign = tuple(p for p in assigned if not p.startswith(OWNED_PREFIX))
            ours = tuple(p for name in self.order for p in self._parts.get((name, direction), ()))
            # Policies of a part that has not been set yet (just after a restart) are kept
            # where they are, so one reconciler never detaches another's.
            unset = [n for n in self.order if (n, direction) not in self._parts]
            kept = tuple(
                p
                for p in assigned
                if p.startswith(OWNED_PREFIX) and p not in ours and _part_of(p) in unset
            )
            wanted = ours + kept + foreign
            if not foreign or default == RouteAction.NONE:
                default = RouteAction.ACCEPT
            if current and assigned == wanted and current[0].default_action == default:
                return False
            await gobgp.set_policy_assignment(
                PolicyAssignment(direction, wanted, default_action=default)
            )
            log.debug("assignment set", direction=direction.name, policies=wanted)
            return True

    async def clear(self) -> None:
        """Forget the parts (GoBGP lost its policies: a restart or StartBgp)."""
        async with self._lock:
            self._parts.clear()


def _part_of(policy: str) -> str:
    """The kind segment of one of our policy names (``bgpctl-<kind>-…``)."""
    return policy.removeprefix(OWNED_PREFIX).split("-", 1)[0]
