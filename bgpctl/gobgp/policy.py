"""Value types for GoBGP routing policy: defined sets, statements, policies, assignments.

These mirror GoBGP's policy model closely (so controllers can reason about GoBGP's
replace/delete rules, see ``docs/gobgp.md``) but only carry what bgpctl uses. Matching
sets are referenced by name; community strings use GoBGP's text form (``"65001:100"``,
``"no-export"``; ``"1:2:3"`` for large communities).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bgpctl.gobgp.types import Family, IPAddress, IPNetwork

GLOBAL_ASSIGNMENT = "global"
"""Assignment name of the global RIB (an empty name is rejected: ``empty table name``)."""


class DefinedType(enum.IntEnum):
    """Kind of a defined set (GoBGP's numbering)."""

    PREFIX = 0
    NEIGHBOR = 1
    AS_PATH = 3
    COMMUNITY = 4
    LARGE_COMMUNITY = 6
    NEXT_HOP = 7


@dataclass(frozen=True, slots=True)
class PrefixMatch:
    """One prefix-set entry: ``prefix`` with a mask-length range.

    GoBGP takes the bounds literally (0/0 matches only a /0 route), so an omitted bound
    is filled in at construction with the prefix's own length: ``PrefixMatch(p)``
    matches exactly ``p`` and equals ``PrefixMatch(p, p.prefixlen, p.prefixlen)``;
    ``PrefixMatch(p, max_len=128)`` matches ``p`` and everything longer inside it.

    Raises:
        ValueError: The range is empty or exceeds the address width.
    """

    prefix: IPNetwork
    min_len: int | None = None
    max_len: int | None = None

    def __post_init__(self) -> None:
        low = self.prefix.prefixlen if self.min_len is None else self.min_len
        high = max(low, self.prefix.prefixlen) if self.max_len is None else self.max_len
        if not 0 <= low <= high <= self.prefix.max_prefixlen:
            raise ValueError(f"invalid mask range {low}..{high} for {self.prefix}")
        object.__setattr__(self, "min_len", low)
        object.__setattr__(self, "max_len", high)

    def bounds(self) -> tuple[int, int]:
        """The ``(min, max)`` mask lengths (always set after construction)."""
        assert self.min_len is not None and self.max_len is not None
        return self.min_len, self.max_len


@dataclass(frozen=True, slots=True)
class DefinedSet:
    """A named set that statements match against.

    Attributes:
        type: What the set holds.
        name: Unique per type.
        prefixes: Entries of a PREFIX set.
        items: Entries of every other type (neighbor prefixes, community regexps ...).
    """

    type: DefinedType
    name: str
    prefixes: tuple[PrefixMatch, ...] = ()
    items: tuple[str, ...] = ()


class MatchType(enum.IntEnum):
    """How a statement matches a set (prefix and neighbor sets support ANY and INVERT)."""

    ANY = 0
    ALL = 1
    INVERT = 2


@dataclass(frozen=True, slots=True)
class MatchSet:
    """Reference from a statement's conditions to a defined set."""

    name: str
    type: MatchType = MatchType.ANY


class RouteAction(enum.IntEnum):
    """Final disposition of a route; NONE falls through to the next statement."""

    NONE = 0
    ACCEPT = 1
    REJECT = 2


class CommunityActionType(enum.IntEnum):
    """How a community action changes the attribute."""

    ADD = 0
    REMOVE = 1
    REPLACE = 2


@dataclass(frozen=True, slots=True)
class CommunityAction:
    """Add, remove or replace communities (text form)."""

    type: CommunityActionType
    communities: tuple[str, ...]


class MedActionType(enum.IntEnum):
    """MOD adds ``value`` (may be negative), REPLACE sets it."""

    MOD = 0
    REPLACE = 1


@dataclass(frozen=True, slots=True)
class MedAction:
    """Change MED."""

    type: MedActionType
    value: int


@dataclass(frozen=True, slots=True)
class AsPrependAction:
    """Prepend ``asn`` (or the left-most AS with ``use_left_most``) ``repeat`` times."""

    asn: int
    repeat: int = 1
    use_left_most: bool = False


@dataclass(frozen=True, slots=True)
class NextHopAction:
    """Set the next hop to ``address``, to ourselves, or leave it unchanged."""

    address: IPAddress | None = None
    self_: bool = False
    unchanged: bool = False


@dataclass(frozen=True, slots=True)
class Conditions:
    """What a statement matches; unset conditions match everything."""

    prefix_set: MatchSet | None = None
    neighbor_set: MatchSet | None = None
    as_path_set: MatchSet | None = None
    community_set: MatchSet | None = None
    large_community_set: MatchSet | None = None
    next_hop_in: tuple[str, ...] = ()
    families: tuple[Family, ...] = ()


@dataclass(frozen=True, slots=True)
class Actions:
    """What a matching statement does."""

    route_action: RouteAction = RouteAction.NONE
    community: CommunityAction | None = None
    large_community: CommunityAction | None = None
    med: MedAction | None = None
    local_pref: int | None = None
    as_prepend: AsPrependAction | None = None
    next_hop: NextHopAction | None = None


@dataclass(frozen=True, slots=True)
class Statement:
    """A condition/action pair.

    Statement names are global in GoBGP; an empty name is filled in by AddPolicy as
    ``<policy>_stmt<index>``.
    """

    name: str = ""
    conditions: Conditions = Conditions()
    actions: Actions = Actions()


@dataclass(frozen=True, slots=True)
class Policy:
    """An ordered list of statements under a name."""

    name: str
    statements: tuple[Statement, ...] = ()


class PolicyDirection(enum.IntEnum):
    """Where a policy assignment applies."""

    IMPORT = 1
    EXPORT = 2


@dataclass(frozen=True, slots=True)
class PolicyAssignment:
    """Policies attached to a RIB in one direction.

    Attributes:
        direction: IMPORT or EXPORT.
        policies: Policy names, evaluated in order.
        name: ``"global"``, or a route-server client's address (ordinary neighbors
            cannot carry per-peer policies in GoBGP).
        default_action: What happens to routes no statement decided on.
    """

    direction: PolicyDirection
    policies: tuple[str, ...] = ()
    name: str = GLOBAL_ASSIGNMENT
    default_action: RouteAction = RouteAction.NONE
