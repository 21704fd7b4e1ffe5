"""Bring one GoBGP neighbor to its desired configuration, touching it only when needed.

The I/O half of :mod:`bgpctl.controllers.peerdiff`: the neighbor as ListPeer reports it
is compared field by field with the desired one; nothing is called when they are equal,
a timer-only difference is an UpdatePeer (no session reset), anything else a DeletePeer
+ AddPeer (GoBGP resets the session for those changes anyway, or ignores them).
"""

from __future__ import annotations

import dataclasses
import enum

from bgpctl.controllers.peerdiff import differences, needs_reset
from bgpctl.gobgp.client import GoBGPClient
from bgpctl.gobgp.errors import GoBGPError, is_not_found
from bgpctl.gobgp.types import IPAddress, Peer, PeerSpec


class Action(enum.Enum):
    """What :func:`apply_neighbor` did."""

    NONE = "none"
    ADDED = "added"
    UPDATED = "updated"
    READDED = "re-added"


@dataclasses.dataclass(frozen=True, slots=True)
class Applied:
    """The outcome: the action, the fields that differed, the neighbor as listed after."""

    action: Action
    changed: tuple[str, ...]
    peer: Peer | None


async def apply_neighbor(gobgp: GoBGPClient, current: Peer | None, desired: PeerSpec) -> Applied:
    """Make GoBGP's neighbor at ``desired.neighbor_address`` match ``desired``.

    ``current`` is that neighbor as ListPeer reported it (``None``: absent).

    Raises:
        GoBGPError: A GoBGP call failed (the neighbor may be half-applied; retry).
            With ``current`` None, a neighbor that exists after all is never adopted:
            AddPeer's AlreadyExists is raised, for the caller to judge whose it is.
    """
    address = desired.neighbor_address
    if current is None:
        await gobgp.add_peer(desired)
        return Applied(Action.ADDED, (), await gobgp.get_peer(address))
    global_asn = (await gobgp.get_bgp()).asn
    changed = differences(current.spec, desired, global_asn=global_asn)
    if not changed:
        return Applied(Action.NONE, (), current)
    if needs_reset(changed):
        await delete_neighbor(gobgp, address)
        await gobgp.add_peer(desired)
        return Applied(Action.READDED, changed, await gobgp.get_peer(address))
    # The local AS spelled out: GoBGP 3.10 resets the session if the request differs
    # from the stored configuration before its defaults are applied.
    await gobgp.update_peer(dataclasses.replace(desired, local_asn=desired.local_asn or global_asn))
    return Applied(Action.UPDATED, changed, await gobgp.get_peer(address))


async def delete_neighbor(gobgp: GoBGPClient, address: IPAddress) -> None:
    """DeletePeer; a neighbor that is already gone counts as deleted."""
    try:
        await gobgp.delete_peer(address)
    except GoBGPError as err:
        if not is_not_found(err):
            raise
