"""Inferring a session's last error from GoBGP's counters (pure)."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import ip_address

from bgpctl.controllers.sessioncause import (
    CONNECTION_LOST,
    PEER_CLOSED,
    PEER_REJECTED_OPEN,
    WE_CLOSED,
    WE_REJECTED_OPEN,
    infer_last_error,
)
from bgpctl.gobgp.types import MessageCounters, PeerState, SessionState

BASE = PeerState(
    neighbor_address=ip_address("2001:db8::1"),
    peer_asn=65001,
    local_asn=65000,
    session_state=SessionState.ACTIVE,
)


def state(s: SessionState, *, flops: int = 0, **counters: int) -> PeerState:
    return replace(BASE, session_state=s, flops=flops, messages=MessageCounters(**counters))


def infer(prev: PeerState | None, cur: PeerState, quiet: float = 0.0) -> str | None:
    return infer_last_error(prev, cur, open_quiet=quiet, address="2001:db8::1", port=179)


def test_cannot_connect_only_after_quiet_period_and_no_open() -> None:
    active = state(SessionState.ACTIVE)
    assert infer(None, active, quiet=1.0) is None
    cause = infer(active, active, quiet=20.0)
    assert cause is not None and cause.startswith("cannot connect to 2001:db8::1 port 179")
    seen_open = state(SessionState.ACTIVE, opens_received=1, opens_sent=1)
    assert infer(seen_open, seen_open, quiet=20.0) is None


def test_open_rejections() -> None:
    before = state(SessionState.ACTIVE, opens_sent=1)
    after = state(SessionState.IDLE, opens_sent=2, opens_received=1, notifications_received=1)
    assert infer(before, after) == PEER_REJECTED_OPEN
    assert "bad peer AS" in PEER_REJECTED_OPEN
    after = state(SessionState.IDLE, opens_sent=2, opens_received=1, notifications_sent=1)
    assert infer(before, after) == WE_REJECTED_OPEN
    assert infer(None, after) == WE_REJECTED_OPEN


def test_session_down_causes() -> None:
    up = state(SessionState.ESTABLISHED, opens_sent=1, opens_received=1)
    assert infer(up, up) is None
    down = state(SessionState.IDLE, flops=1, opens_sent=1, opens_received=1)
    assert infer(up, down) == CONNECTION_LOST
    sent = replace(down, messages=MessageCounters(1, 1, notifications_sent=1))
    assert infer(up, sent) == WE_CLOSED
    assert "hold timer expired" in WE_CLOSED
    received = replace(down, messages=MessageCounters(1, 1, notifications_received=1))
    assert infer(up, received) == PEER_CLOSED
    # Down and up again between two observations: the flap count tells.
    bounced = state(SessionState.ESTABLISHED, flops=1, opens_sent=2, opens_received=2)
    assert infer(up, bounced) == CONNECTION_LOST
