"""Adopt, don't reconfigure: a listed neighbor compares equal to the spec it was added
from, a timer change keeps the session, any other change re-adds the neighbor.

Runs once per GoBGP build (Debian 3.10 and v3.37), against real gobgpd.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
from contextlib import aclosing

import pytest

from bgpctl.controllers.neighbor import Action, apply_neighbor
from bgpctl.controllers.peerdiff import differences
from bgpctl.gobgp.client import GoBGPClient
from bgpctl.gobgp.types import (
    IPV4_UNICAST,
    IPV6_UNICAST,
    Global,
    PeerEvent,
    PeerSpec,
    SessionState,
)
from bgpctl.testing.netns import GoBGPD

from .conftest import LISTEN_PORT, DaemonPair, make_client
from .test_gobgpd_peering import ASN, established  # noqa: F401

pytestmark = pytest.mark.root

QUIET = 4.0
"""Seconds the peer-state stream is watched for a reset after a change."""


def _spec(neighbor: str, **changes: object) -> PeerSpec:
    base = PeerSpec(
        neighbor_address=ipaddress.ip_address(neighbor),
        peer_asn=ASN,
        description="bgpsession/adopt",
        families=(IPV6_UNICAST, IPV4_UNICAST),
        remote_port=LISTEN_PORT,
        connect_retry=5,
        hold_time=9,
        keepalive_interval=3,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


VARIANTS = {
    "ibgp-local-address": _spec(
        "2001:db8:cc::1", local_address=ipaddress.ip_address("2001:db8:cc::99")
    ),
    "ibgp-no-local-address": _spec("2001:db8:cc::2"),
    "ipv4-neighbor": _spec("203.0.113.7", families=(IPV4_UNICAST,)),
    "rr-client-default-cluster": _spec("2001:db8:cc::3", route_reflector_client=True),
    "rr-client-cluster": _spec(
        "2001:db8:cc::4", route_reflector_client=True, route_reflector_cluster_id="10.0.0.1"
    ),
    "ebgp-multihop": _spec("2001:db8:cc::5", peer_asn=65099, ebgp_multihop_ttl=5),
    "ebgp-ttl-security": _spec("2001:db8:cc::6", peer_asn=65099, ttl_security_min=250),
    "gobgp-default-timers": _spec("2001:db8:cc::7", connect_retry=0, hold_time=0),
    "graceful-restart": _spec("2001:db8:cc::8", graceful_restart_time=120),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
async def test_fresh_neighbor_compares_equal(daemon: GoBGPD, name: str) -> None:
    desired = VARIANTS[name]
    async with make_client(daemon.target) as client:
        if not (await client.get_bgp()).started:
            await client.start_bgp(Global(ASN, "192.0.2.1", listen_port=LISTEN_PORT))
        await client.add_peer(desired)
        try:
            listed = await client.get_peer(desired.neighbor_address)
            assert listed is not None
            assert differences(listed.spec, desired, global_asn=ASN) == ()
            again = await apply_neighbor(client, listed, desired)
            assert again.action is Action.NONE
        finally:
            await client.delete_peer(desired.neighbor_address)


async def _states(client: GoBGPClient, into: list[SessionState]) -> None:
    async with aclosing(client.watch_peers()) as stream:
        async for item in stream:
            if isinstance(item, PeerEvent) and item.peer is not None:
                into.append(item.peer.session_state)


async def test_changes_on_an_established_session(
    daemon_pair: DaemonPair,
    established: tuple[GoBGPClient, GoBGPClient],  # noqa: F811
) -> None:
    a, b = established
    listed = await a.get_peer(ipaddress.ip_address(daemon_pair.b6))
    assert listed is not None
    # The neighbor as the fixture added it. (No re-add before the checks: on v3.37 a
    # session reset by "peer deconfigured" can stay down for well over a minute.)
    base = listed.spec
    seen: list[SessionState] = []
    watcher = asyncio.create_task(_states(b, seen))
    try:
        await asyncio.sleep(1.0)  # INIT replay
        seen.clear()
        flops = (await a.get_peer(base.neighbor_address)).state.flops  # type: ignore[union-attr]

        # The adopted neighbor: nothing to do.
        current = await a.get_peer(base.neighbor_address)
        assert (await apply_neighbor(a, current, base)).action is Action.NONE

        # Timers: UpdatePeer in place, the session stays up.
        slower = dataclasses.replace(base, hold_time=12, keepalive_interval=4, connect_retry=6)
        result = await apply_neighbor(a, current, slower)
        assert result.action is Action.UPDATED
        assert set(result.changed) == {"hold_time", "keepalive_interval", "connect_retry"}
        await asyncio.sleep(QUIET)
        after = await a.get_peer(base.neighbor_address)
        assert after is not None and after.state.established
        assert after.state.flops == flops
        assert seen == [], f"B saw the session change state: {seen}"
        assert differences(after.spec, slower, global_asn=ASN) == ()

        # The reflector flag: re-added, and it really takes effect.
        reflector = dataclasses.replace(slower, route_reflector_client=True)
        result = await apply_neighbor(a, after, reflector)
        assert result.action is Action.READDED and result.changed == ("route_reflector_client",)
        assert result.peer is not None
        assert differences(result.peer.spec, reflector, global_asn=ASN) == ()
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
