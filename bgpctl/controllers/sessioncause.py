"""Why a BGP session is not up, in words, from what GoBGP's API exposes.

GoBGP (3.10 and 3.37 alike) keeps the reason of its last FSM transition — the
NOTIFICATION code, the TCP error — to itself: it reaches its log, never ``ListPeer``
or the peer-event stream. What the API does expose are the per-neighbor message
counters (OPENs and NOTIFICATIONs, sent and received) and the FSM state, so the cause
is inferred from how those moved between two observations of the same neighbor:

==========================================================  ==============================
what moved                                                   last error
==========================================================  ==============================
NOTIFICATION received before Established                     the peer rejected our OPEN
NOTIFICATION sent after the peer's OPEN, before Established  we rejected the peer's OPEN
NOTIFICATION received while Established                      the peer closed the session
NOTIFICATION sent while Established                          we closed it (hold timer, …)
left Established, no NOTIFICATION either way                 connection lost
no OPEN ever received, none sent for 15 s, not up            cannot connect
==========================================================  ==============================
"""

from __future__ import annotations

from bgpctl.gobgp.types import MessageCounters, PeerState, SessionState

PEER_REJECTED_OPEN = (
    "the peer rejected our OPEN with a NOTIFICATION (bad peer AS: it expects another "
    "AS number for us, or a bad BGP identifier or capability)"
)
WE_REJECTED_OPEN = (
    "we rejected the peer's OPEN with a NOTIFICATION (bad peer AS: it announced an AS "
    "number other than its BGPEndpoint's, or a bad BGP identifier)"
)
PEER_CLOSED = "the peer closed the session with a NOTIFICATION (reset, shutdown or its hold timer)"
WE_CLOSED = (
    "we closed the session with a NOTIFICATION (hold timer expired: no keepalive from "
    "the peer, or a malformed message)"
)
CONNECTION_LOST = "connection lost without a NOTIFICATION (TCP reset, peer process or link down)"

_CONNECTING = frozenset({SessionState.IDLE, SessionState.CONNECT, SessionState.ACTIVE})


CONNECT_QUIET = 15.0
"""Seconds without a new OPEN sent (GoBGP sends one on every TCP session it opens, and
retries every 5-10 s) after which a session that is not up "cannot connect"."""


def cannot_connect(address: str, port: int) -> str:
    """The message for a neighbor that never answered a TCP connect."""
    return (
        f"cannot connect to {address} port {port} (connection refused or no route); "
        "GoBGP retries every 5 s"
    )


def infer_last_error(
    previous: PeerState | None,
    current: PeerState,
    *,
    open_quiet: float,
    address: str,
    port: int,
) -> str | None:
    """The error the transition ``previous`` → ``current`` shows, or None (nothing new).

    Args:
        previous: The last observation of this neighbor; None on the first one (agent
            start, neighbor just added): then the counters are compared with zero.
        current: This observation.
        open_quiet: Seconds since the neighbor's OPEN-sent counter last moved (or since
            it was first observed).
        address: The neighbor's address, for the message.
        port: The neighbor's port, for the message.
    """
    before = previous.messages if previous is not None else MessageCounters()
    was_up = previous is not None and previous.established
    went_down = was_up and not current.established
    bounced = previous is not None and current.flops > previous.flops
    now = current.messages
    received = now.notifications_received > before.notifications_received
    sent = now.notifications_sent > before.notifications_sent
    if was_up or went_down or bounced:
        if received:
            return PEER_CLOSED
        if sent:
            return WE_CLOSED
        if went_down or bounced:
            return CONNECTION_LOST
        return None
    if received:
        return PEER_REJECTED_OPEN
    if sent and now.opens_received > 0:
        return WE_REJECTED_OPEN
    if (
        current.session_state in _CONNECTING
        and now.opens_received == 0
        and open_quiet >= CONNECT_QUIET
    ):
        return cannot_connect(address, port)
    return None
