"""Value types of the GoBGP client: what callers build and what the client returns.

Frozen, slotted dataclasses with no protobuf in sight; ``convert`` maps them to and from
the wire. Addresses and prefixes are ``ipaddress`` objects, so an invalid one fails where
it is built, not inside gobgpd. BGP timers are whole seconds on the wire, so they are
``int`` here (upstream's ``uint64`` seconds); other durations are float seconds.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Afi(enum.IntEnum):
    """Address family identifier (IANA numbers)."""

    IP = 1
    IP6 = 2


class Safi(enum.IntEnum):
    """Subsequent address family identifier (IANA numbers)."""

    UNICAST = 1
    MULTICAST = 2


@dataclass(frozen=True, slots=True)
class Family:
    """An AFI/SAFI pair; use ``IPV4_UNICAST`` / ``IPV6_UNICAST``."""

    afi: Afi
    safi: Safi = Safi.UNICAST

    @staticmethod
    def of(prefix: IPNetwork | IPAddress) -> Family:
        """The unicast family of an address or prefix."""
        return IPV4_UNICAST if prefix.version == 4 else IPV6_UNICAST


IPV4_UNICAST = Family(Afi.IP, Safi.UNICAST)
IPV6_UNICAST = Family(Afi.IP6, Safi.UNICAST)


@dataclass(frozen=True, slots=True)
class Global:
    """Speaker-wide settings (StartBgp) and what GetBgp reports.

    Attributes:
        asn: Local AS; ``0`` in GetBgp means BGP is not started.
        router_id: Dotted-quad router ID.
        listen_port: BGP listen port; ``-1`` disables listening.
        listen_addresses: Addresses to listen on; empty means all.
    """

    asn: int
    router_id: str
    listen_port: int = 179
    listen_addresses: tuple[str, ...] = ()

    @property
    def started(self) -> bool:
        """True if this describes a running speaker (GetBgp on an unstarted one gives AS 0)."""
        return self.asn != 0


@dataclass(frozen=True, slots=True)
class PeerSpec:
    """Desired configuration of one neighbor (AddPeer / UpdatePeer).

    Attributes:
        neighbor_address: The neighbor's address; the key of the neighbor in GoBGP.
        peer_asn: The neighbor's AS.
        local_asn: Our AS towards this neighbor; ``0`` means the global AS.
        description: Free text.
        auth_password: TCP MD5 password; empty for none.
        families: Address families to negotiate; at least one.
        local_address: Source address of the session; empty lets the kernel choose.
        remote_port: The neighbor's BGP port; ``0`` means 179.
        passive: Never connect actively, only accept.
        connect_retry: Seconds between active connects; GoBGP enforces at least 5.
        hold_time: Hold time in seconds; ``0`` means GoBGP's default (90).
        keepalive_interval: Keepalive interval in seconds; ``0`` means the default (30).
        ebgp_multihop_ttl: TTL for multihop eBGP; ``0`` disables multihop.
        ttl_security_min: GTSM minimum TTL; ``0`` disables TTL security.
        route_reflector_client: Treat the neighbor as our route-reflector client.
        route_reflector_cluster_id: Cluster ID when acting as a reflector.
        admin_down: Configure the neighbor but keep it administratively down.
        graceful_restart_time: BGP graceful restart (RFC 4724) with this restart time in
            seconds, for every configured family; ``0`` disables it.
    """

    neighbor_address: IPAddress
    peer_asn: int
    local_asn: int = 0
    description: str = ""
    auth_password: str = ""
    families: tuple[Family, ...] = (IPV6_UNICAST,)
    local_address: IPAddress | None = None
    remote_port: int = 0
    passive: bool = False
    connect_retry: int = 0
    hold_time: int = 0
    keepalive_interval: int = 0
    ebgp_multihop_ttl: int = 0
    ttl_security_min: int = 0
    route_reflector_client: bool = False
    route_reflector_cluster_id: str = ""
    admin_down: bool = False
    graceful_restart_time: int = 0


class SessionState(enum.Enum):
    """BGP FSM state; values are the names the Go original renders in status."""

    UNKNOWN = "Unknown"
    IDLE = "Idle"
    CONNECT = "Connect"
    ACTIVE = "Active"
    OPENSENT = "OpenSent"
    OPENCONFIRM = "OpenConfirm"
    ESTABLISHED = "Established"


class AdminState(enum.Enum):
    """Administrative state of a neighbor."""

    UP = "Up"
    DOWN = "Down"
    PREFIX_LIMIT = "PrefixLimit"


class PeerType(enum.Enum):
    """Whether a neighbor is in our AS."""

    INTERNAL = "internal"
    EXTERNAL = "external"


@dataclass(frozen=True, slots=True)
class FamilyCounters:
    """Per-family route counters of a neighbor (ListPeer only; events carry none)."""

    family: Family
    enabled: bool
    received: int = 0
    accepted: int = 0
    advertised: int = 0


@dataclass(frozen=True, slots=True)
class MessageCounters:
    """BGP messages exchanged with one neighbor since it was added (ListPeer)."""

    opens_sent: int = 0
    opens_received: int = 0
    notifications_sent: int = 0
    notifications_received: int = 0


@dataclass(frozen=True, slots=True)
class PeerState:
    """Observed state of one neighbor, from ListPeer or a peer event.

    Attributes:
        neighbor_address: The neighbor's address.
        peer_asn: The neighbor's AS.
        local_asn: Our AS towards it.
        session_state: FSM state.
        admin_state: Administrative state.
        peer_type: iBGP or eBGP (ListPeer only; events report INTERNAL).
        router_id: The neighbor's router ID once OPEN was received, else ``""``.
        local_address: Our end of the session, ``None`` while not connected.
        remote_port: The neighbor's port.
        uptime: Wall-clock time (Unix seconds) the session was last established, if known.
        flops: How often the session went down.
        families: Per-family counters (ListPeer only).
        end_of_rib: End-of-RIB received for every enabled family since the session came
            up (ListPeer only; peers send it when graceful restart is negotiated).
        downtime: Wall-clock time (Unix seconds) the session last went down, if known.
        messages: BGP message counters (ListPeer only; GoBGP reports no notification
            code or connect error over its API, so causes are inferred from these).
    """

    neighbor_address: IPAddress
    peer_asn: int
    local_asn: int
    session_state: SessionState
    admin_state: AdminState = AdminState.UP
    peer_type: PeerType = PeerType.INTERNAL
    router_id: str = ""
    local_address: IPAddress | None = None
    remote_port: int = 0
    uptime: float | None = None
    flops: int = 0
    families: tuple[FamilyCounters, ...] = ()
    end_of_rib: bool = False
    downtime: float | None = None
    messages: MessageCounters = MessageCounters()

    @property
    def established(self) -> bool:
        """True if the session is up."""
        return self.session_state is SessionState.ESTABLISHED

    @property
    def received_prefixes(self) -> int:
        """Sum of received prefixes over all families (0 when unknown)."""
        return sum(c.received for c in self.families)


@dataclass(frozen=True, slots=True)
class Peer:
    """A neighbor as ListPeer reports it: configuration and state."""

    spec: PeerSpec
    state: PeerState


class PeerEventType(enum.Enum):
    """Kinds of peer events: replayed state at subscription, its end, and changes."""

    INIT = "init"
    END_OF_INIT = "end_of_init"
    STATE = "state"


@dataclass(frozen=True, slots=True)
class PeerEvent:
    """One item of the peer-event stream; ``peer`` is ``None`` for END_OF_INIT."""

    type: PeerEventType
    peer: PeerState | None


class Origin(enum.IntEnum):
    """ORIGIN attribute values."""

    IGP = 0
    EGP = 1
    INCOMPLETE = 2


class AsSegmentType(enum.IntEnum):
    """AS_PATH segment types (RFC 4271, RFC 5065)."""

    AS_SET = 1
    AS_SEQUENCE = 2
    AS_CONFED_SEQUENCE = 3
    AS_CONFED_SET = 4


@dataclass(frozen=True, slots=True)
class AsSegment:
    """One AS_PATH segment."""

    asns: tuple[int, ...]
    type: AsSegmentType = AsSegmentType.AS_SEQUENCE


Community = tuple[int, int]
"""A standard community as ``(asn, value)``, each 0..65535."""

LargeCommunity = tuple[int, int, int]
"""A large community as ``(global_admin, local_data1, local_data2)``, each 32 bits."""


@dataclass(frozen=True, slots=True)
class Path:
    """A route: a prefix, its attributes and where it came from.

    Equality and hashing cover what the route says (``prefix``, attributes and
    ``is_withdraw``), not the metadata of where and when it was learned, so a path read
    back from a peer compares equal to the path that was injected.

    Attributes:
        prefix: The destination (host bits must be clear).
        next_hops: Next hops. IPv4 uses one; IPv6 may carry a global and a link-local
            one. ``0.0.0.0`` / ``::`` means "next-hop-self" towards every peer.
        origin: ORIGIN attribute.
        as_path: AS_PATH segments; empty for a locally originated route.
        med: MULTI_EXIT_DISC, if present.
        local_pref: LOCAL_PREF, if present.
        communities: Standard communities as ``(asn, value)``.
        large_communities: Large communities as 3-tuples.
        is_withdraw: True for a withdrawal.
        neighbor: Neighbor the path was learned from; ``None`` for local paths.
        source_asn: AS of that neighbor (0 for local paths).
        source_id: Router ID of that neighbor.
        best: Whether GoBGP selected it as best.
        age: Wall-clock time (Unix seconds) the path was received or added, if known.
        uuid: Handle of a path added by unary AddPath; empty otherwise.
        identifier: The path identifier (RFC 7911). For local paths it is never sent to
            peers without ADD-PATH, and GoBGP keeps it, so it marks who originated a
            path; a withdrawal must carry the identifier of the path it withdraws.
    """

    prefix: IPNetwork
    next_hops: tuple[IPAddress, ...] = ()
    origin: Origin = Origin.IGP
    as_path: tuple[AsSegment, ...] = ()
    med: int | None = None
    local_pref: int | None = None
    communities: tuple[Community, ...] = ()
    large_communities: tuple[LargeCommunity, ...] = ()
    is_withdraw: bool = False
    neighbor: IPAddress | None = field(default=None, compare=False)
    source_asn: int = field(default=0, compare=False)
    source_id: str = field(default="", compare=False)
    best: bool = field(default=False, compare=False)
    age: float | None = field(default=None, compare=False)
    uuid: bytes = field(default=b"", compare=False)
    identifier: int = 0

    @property
    def family(self) -> Family:
        """The unicast family of ``prefix``."""
        return Family.of(self.prefix)

    @property
    def is_local(self) -> bool:
        """True if this node originated the path (it was not learned from a neighbor)."""
        return self.neighbor is None

    def withdrawal(self) -> Path:
        """The withdrawal of this path (same prefix, next hops and identifier only)."""
        return Path(
            prefix=self.prefix,
            next_hops=self.next_hops,
            is_withdraw=True,
            identifier=self.identifier,
        )


@dataclass(frozen=True, slots=True)
class TableInfo:
    """Size of one RIB table (GetTable)."""

    destinations: int
    paths: int
    accepted: int = 0


@dataclass(frozen=True, slots=True)
class Resync:
    """Stream marker: the stream (re)subscribed, so what it yielded before may be stale.

    Every subscription starts with one, including the first (``restarts == 0``). For the
    best-path stream the next item is the complete table (``BestPathEvent.initial``);
    for the peer stream, INIT events for every neighbor follow, then END_OF_INIT.

    Attributes:
        generation: The connection generation when the subscription was made.
        restarts: How many subscriptions of this stream came before this one.
    """

    generation: int
    restarts: int


@dataclass(frozen=True, slots=True)
class BestPathEvent:
    """Best-path changes.

    With ``initial`` set, ``paths`` is the whole best-path table at subscription time
    (replace your copy); otherwise they are changes to merge (``Path.is_withdraw`` marks
    removals).
    """

    paths: tuple[Path, ...]
    initial: bool = False
