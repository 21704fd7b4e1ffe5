"""BGP metrics of a node agent: sessions, advertisements, route policies, GoBGP, FIB.

Names of the Go original where it had them (``bgp_session_state{session,state}``,
``bgp_received_prefixes_total{session}``, ``bgp_session_flaps_total{session}``,
``bgp_advertised_prefixes_total{advertisement}``, ``bgp_route_policies_applied{policy}``),
plus what an operator needs beyond them. Every agent exports its own node's view: the
``session`` label is the BGPSession's name, and this node's end is the one measured.

The ``*_total`` session families are gauges, as in the Go original: they mirror GoBGP's
own counts (which restart when a neighbor is re-added), so they can go down.

Callers use the typed functions below (module level, on ``REGISTRY``), never the
prometheus_client objects, so the families stay in one place:

- sessions: :func:`observe_session`, :func:`session_unknown`, :func:`forget_session`;
- advertisements: :func:`set_advertised_prefixes`, :func:`forget_advertisement`;
- route policies: :func:`set_route_policy_applied`, :func:`forget_route_policy`;
- GoBGP connection: :func:`set_gobgp_connected`, :func:`count_gobgp_reconnect`;
- FIB: :func:`set_fib_routes`, :func:`count_fib_errors`, :func:`observe_fib_sync`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from functools import cache

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from bgpctl.metrics.registry import REGISTRY

SESSION_STATES = ("Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established", "Unknown")
"""Values of the ``state`` label of ``bgp_session_state`` (exactly one is 1 per session)."""

_SYNC_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class BGPMetrics:
    """The BGP families on one registry (one instance per registry)."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.session_state = Gauge(
            "bgp_session_state",
            "1 for the BGP FSM state this node's end of the session is in, else 0",
            ("session", "state"),
            registry=registry,
        )
        self.session_up = Gauge(
            "bgp_session_up",
            "1 if this node's end of the session is Established",
            ("session",),
            registry=registry,
        )
        self.received_prefixes = Gauge(
            "bgp_received_prefixes_total",
            "Prefixes received over the session (all families)",
            ("session",),
            registry=registry,
        )
        self.flaps = Gauge(
            "bgp_session_flaps_total",
            "Times the session left Established since GoBGP added the neighbor",
            ("session",),
            registry=registry,
        )
        self.family_received = Gauge(
            "bgp_session_prefixes_received",
            "Prefixes received over the session, per address family",
            ("session", "family"),
            registry=registry,
        )
        self.family_accepted = Gauge(
            "bgp_session_prefixes_accepted",
            "Received prefixes accepted by import policy, per address family",
            ("session", "family"),
            registry=registry,
        )
        self.family_advertised = Gauge(
            "bgp_session_prefixes_advertised",
            "Prefixes advertised over the session, per address family",
            ("session", "family"),
            registry=registry,
        )
        self.advertised_prefixes = Gauge(
            "bgp_advertised_prefixes_total",
            "Prefixes of the BGPAdvertisement this node originates",
            ("advertisement",),
            registry=registry,
        )
        self.route_policy_applied = Gauge(
            "bgp_route_policies_applied",
            "1 if the BGPRoutePolicy is in force in this node's GoBGP",
            ("policy",),
            registry=registry,
        )
        self.gobgp_connected = Gauge(
            "bgp_gobgp_connected",
            "1 while the agent is connected to its gobgpd",
            registry=registry,
        )
        self.gobgp_reconnects = Counter(
            "bgp_gobgp_reconnects",
            "Connections to gobgpd after the first (gobgpd restarts or connection losses)",
            registry=registry,
        )
        self.fib_routes = Gauge(
            "bgp_fib_routes",
            "Kernel routes of the FIB sync: installed, failed (refused, retried) or stale "
            "(of our protocol, not wanted, not yet deleted)",
            ("state",),
            registry=registry,
        )
        self.fib_errors = Counter(
            "bgp_fib_errors",
            "Kernel route writes that failed",
            registry=registry,
        )
        self.fib_sync_seconds = Histogram(
            "bgp_fib_sync_duration_seconds",
            "Duration of one kernel write round (a batch of best-path changes)",
            buckets=_SYNC_BUCKETS,
            registry=registry,
        )

    def observe_session(
        self,
        session: str,
        *,
        state: str,
        received: int,
        flaps: int,
        families: Iterable[tuple[str, int, int, int]] = (),
    ) -> None:
        """Set a session's gauges; ``families`` holds (family, received, accepted, advertised)."""
        for value in SESSION_STATES:
            self.session_state.labels(session, value).set(1 if value == state else 0)
        self.session_up.labels(session).set(1 if state == "Established" else 0)
        self.received_prefixes.labels(session).set(received)
        self.flaps.labels(session).set(flaps)
        for family, rec, acc, adv in families:
            self.family_received.labels(session, family).set(rec)
            self.family_accepted.labels(session, family).set(acc)
            self.family_advertised.labels(session, family).set(adv)

    def forget_session(self, session: str, families: Iterable[str] = ()) -> None:
        """Remove every series of a session this node no longer has."""
        for value in SESSION_STATES:
            _remove(self.session_state, session, value)
        for gauge in (self.session_up, self.received_prefixes, self.flaps):
            _remove(gauge, session)
        for family in families:
            for gauge in (self.family_received, self.family_accepted, self.family_advertised):
                _remove(gauge, session, family)


def _remove(gauge: Gauge, *labels: str) -> None:
    with contextlib.suppress(KeyError):
        gauge.remove(*labels)


@cache
def bgp_metrics() -> BGPMetrics:
    """The process-wide instance on ``REGISTRY`` (created on first use)."""
    return BGPMetrics(REGISTRY)


# -- typed functions for the reconcilers -------------------------------------------------


def observe_session(
    session: str,
    *,
    state: str,
    received: int,
    flaps: int,
    families: Iterable[tuple[str, int, int, int]] = (),
) -> None:
    """Set ``session``'s gauges (this node's end); see :meth:`BGPMetrics.observe_session`."""
    bgp_metrics().observe_session(
        session, state=state, received=received, flaps=flaps, families=families
    )


def session_unknown(sessions: Iterable[str]) -> None:
    """The node's GoBGP is unreachable: ``sessions`` are in state Unknown, not up."""
    metrics = bgp_metrics()
    for session in sessions:
        for value in SESSION_STATES:
            metrics.session_state.labels(session, value).set(1 if value == "Unknown" else 0)
        metrics.session_up.labels(session).set(0)


def forget_session(session: str, families: Iterable[str] = ()) -> None:
    """Remove a session's series (deleted, or this node is no longer an end)."""
    bgp_metrics().forget_session(session, families)


def set_advertised_prefixes(advertisement: str, count: int) -> None:
    """``bgp_advertised_prefixes_total{advertisement}``: prefixes this node originates."""
    bgp_metrics().advertised_prefixes.labels(advertisement).set(count)


def forget_advertisement(advertisement: str) -> None:
    """Remove the series of a deleted (or no longer selected) advertisement."""
    _remove(bgp_metrics().advertised_prefixes, advertisement)


def set_route_policy_applied(policy: str, applied: bool) -> None:
    """``bgp_route_policies_applied{policy}``: 1 when in force in this node's GoBGP."""
    bgp_metrics().route_policy_applied.labels(policy).set(1 if applied else 0)


def forget_route_policy(policy: str) -> None:
    """Remove the series of a deleted route policy."""
    _remove(bgp_metrics().route_policy_applied, policy)


def set_gobgp_connected(connected: bool) -> None:
    """``bgp_gobgp_connected``."""
    bgp_metrics().gobgp_connected.set(1 if connected else 0)


def count_gobgp_reconnect() -> None:
    """``bgp_gobgp_reconnects_total`` += 1."""
    bgp_metrics().gobgp_reconnects.inc()


class FibSyncMetrics:
    """The route engine's ``SyncMetrics`` (by shape) on the FIB families."""

    def batch_written(self, *, routes: int, failures: int, seconds: float) -> None:
        """One kernel write round: its duration and its refused routes."""
        observe_fib_sync(seconds)
        count_fib_errors(failures)

    def routes_changed(self, *, installed: int, failed: int, stale: int = 0) -> None:
        """Route counts after a round (or the adoption of the kernel's routes)."""
        set_fib_routes({"installed": installed, "failed": failed, "stale": stale})


def set_fib_routes(counts: Mapping[str, int]) -> None:
    """``bgp_fib_routes{state}`` for ``installed``, ``failed`` and ``stale``."""
    metrics = bgp_metrics()
    for state, value in counts.items():
        metrics.fib_routes.labels(state).set(value)


def count_fib_errors(errors: int) -> None:
    """``bgp_fib_errors_total`` += ``errors``."""
    if errors:
        bgp_metrics().fib_errors.inc(errors)


def observe_fib_sync(seconds: float) -> None:
    """One kernel sync took ``seconds`` (``bgp_fib_sync_duration_seconds``)."""
    bgp_metrics().fib_sync_seconds.observe(seconds)
