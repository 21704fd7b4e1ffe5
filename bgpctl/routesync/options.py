"""RouteSyncOptions: what the engine writes (protocol, table, metric) and how it batches.

Every attribute has a default that suits a node agent; durations are float seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bgpctl.routesync.prefixes import AF_INET6, PrefixSet
from bgpctl.routesync.types import MAIN_TABLE

DEFAULT_PROTOCOL = 196
"""Route protocol number of our routes (``ip route show proto 196``); the Go original's
value. FRR's staticd also uses 196 ("zstatic"): on a node running FRR pick another."""


@dataclass(frozen=True, slots=True)
class RouteSyncOptions:
    """Configuration of a :class:`RouteSyncer`.

    Attributes:
        protocol: ``rtm_protocol`` of every route written; routes of any other protocol
            are never written, replaced or deleted. Default 196.
        table: default table id for routes (254 = main). Always managed.
        extra_tables: further table ids the engine owns (routes may name them; startup
            reconciliation removes stale routes of ours from them). Default none.
        metric: route priority; None uses the kernel's defaults (IPv6 1024, IPv4 0).
        exclude: networks never installed: a route whose prefix equals or lies inside
            one is treated as withdrawn (the Go original's ``SRV6_NET``). Default none.
        coalesce_window: after the first change arrives, wait this long for more before
            writing, so a burst becomes one netlink batch. Default 0.002 (2 ms).
        max_batch: most routes taken into one write round. Default 2000.
        retry_base: first retry delay of a failed route, doubled per failure. Default 0.5.
        retry_max: cap of the retry delay. Default 60.
        withdraw_on_shutdown: delete our routes on :meth:`RouteSyncer.stop`. Default
            False: a restarting controller must not black-hole traffic.
    """

    protocol: int = DEFAULT_PROTOCOL
    table: int = MAIN_TABLE
    extra_tables: frozenset[int] = field(default_factory=frozenset)
    metric: int | None = None
    exclude: tuple[str, ...] = ()
    coalesce_window: float = 0.002
    max_batch: int = 2000
    retry_base: float = 0.5
    retry_max: float = 60.0
    withdraw_on_shutdown: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.protocol < 256:
            raise ValueError(f"protocol {self.protocol} outside 1..255")
        PrefixSet(self.exclude)  # validates the networks

    @property
    def tables(self) -> frozenset[int]:
        """Every table id the engine owns."""
        return self.extra_tables | {self.table}

    def metric_for(self, family: int) -> int:
        """The priority written for routes of ``family``."""
        if self.metric is not None:
            return self.metric
        return 1024 if family == AF_INET6 else 0
