"""Adopt, don't reconfigure: compare a listed GoBGP neighbor with the desired one.

The session reconciler never remembers what it applied: it reads each neighbor back
with ListPeer and changes it only when a field really differs. ListPeer reports
GoBGP's defaults where we sent zero, so the listed configuration is normalised first
(:func:`differences`); a neighbor freshly added from a spec compares equal to it.

What a change costs (GoBGP's ``UpdatePeer``, read in its source and checked by
``tests/gobgp/test_gobgpd_peer_adopt.py`` on Debian 3.10 and v3.37):

* timers (connect retry, hold time, keepalive) are updated in place: no session reset;
* everything else this module compares (AS numbers, description, password, families,
  local address, remote port, passive mode, eBGP multihop, TTL security,
  route-reflector client, admin state) is either applied by GoBGP as a delete + add,
  or not applied at all by UpdatePeer (multihop, TTL security and the reflector
  flag). Either way, the reconciler deletes and re-adds the neighbor itself
  (:func:`needs_reset`): one reset, and the change really takes effect.
"""

from __future__ import annotations

import dataclasses

from bgpctl.gobgp.types import PeerSpec

TIMER_FIELDS = frozenset({"connect_retry", "hold_time", "keepalive_interval"})
"""Fields GoBGP's UpdatePeer changes without resetting the session."""

_BGP_PORT = 179
_CONNECT_RETRY = 120
_HOLD_TIME = 90


def normalised(spec: PeerSpec, *, global_asn: int) -> PeerSpec:
    """``spec`` with GoBGP's defaults made explicit, so two equal intents compare equal.

    ``local_asn`` 0 is the global AS, ``remote_port`` 0 is 179, timers 0 are GoBGP's
    defaults (connect retry 120 s, hold 90 s, keepalive a third of the hold time), an
    unspecified local address (``None``, ``0.0.0.0``, ``::``) is ``None``, families are
    sorted, and the cluster ID of a non-client is empty.
    """
    hold = spec.hold_time or _HOLD_TIME
    local = spec.local_address
    if local is not None and local.is_unspecified:
        local = None
    return dataclasses.replace(
        spec,
        local_asn=spec.local_asn or global_asn,
        remote_port=spec.remote_port or _BGP_PORT,
        connect_retry=spec.connect_retry or _CONNECT_RETRY,
        hold_time=hold,
        keepalive_interval=spec.keepalive_interval or hold // 3,
        local_address=local,
        families=tuple(sorted(set(spec.families), key=lambda f: (f.afi, f.safi))),
        route_reflector_cluster_id=spec.route_reflector_cluster_id
        if spec.route_reflector_client
        else "",
    )


def differences(listed: PeerSpec, desired: PeerSpec, *, global_asn: int) -> tuple[str, ...]:
    """Names of the ``PeerSpec`` fields in which ``listed`` differs from ``desired``.

    ``listed`` comes from ListPeer. Two of its fields are GoBGP's observations rather
    than our configuration, and are compared only when the desired value is explicit:
    the local address (ListPeer shows the connected socket's address when none was
    configured) and the reflector's cluster ID (GoBGP shows its router ID when none was
    configured).
    """
    have = normalised(listed, global_asn=global_asn)
    want = normalised(desired, global_asn=global_asn)
    if want.local_address is None:
        have = dataclasses.replace(have, local_address=None)
    if not want.route_reflector_cluster_id:
        have = dataclasses.replace(have, route_reflector_cluster_id="")
    return tuple(
        f.name
        for f in dataclasses.fields(PeerSpec)
        if getattr(have, f.name) != getattr(want, f.name)
    )


def needs_reset(changed: tuple[str, ...]) -> bool:
    """True when applying ``changed`` needs the neighbor deleted and re-added."""
    return any(name not in TIMER_FIELDS for name in changed)
