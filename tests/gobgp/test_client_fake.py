"""GoBGPClient calls end to end through grpc.aio against the fake gobgpd.

Covers typed results, error translation through a real gRPC stack (GoBGP messages with
code UNKNOWN), AddPathStream chunking from sync and async iterables, and the
"delete everything of a family" DeletePath form. Policy semantics of the real daemon are
in test_gobgpd_policy.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import pytest

from bgpctl.gobgp.client import GoBGPClient
from bgpctl.gobgp.errors import AlreadyExists, InvalidArgument, NotFound, NotStarted
from bgpctl.gobgp.policy import PolicyAssignment, PolicyDirection
from bgpctl.gobgp.types import IPV4_UNICAST, IPV6_UNICAST, Global, Path, PeerSpec
from bgpctl.runtime.backoff import Backoff
from bgpctl.testing.gobgp import serve_fake_gobgp

NEIGHBOR = ipaddress.ip_address("2001:db8:ab::2")


def v6_paths(n: int) -> list[Path]:
    base = int(ipaddress.ip_address("2001:db8:8000::"))
    hop = (ipaddress.ip_address("2001:db8:ab::1"),)
    return [Path(ipaddress.IPv6Network((base + (i << 64), 64)), hop) for i in range(n)]


@pytest.fixture
async def gobgp() -> AsyncIterator[GoBGPClient]:
    async with (
        serve_fake_gobgp() as fake,
        GoBGPClient(fake.target, backoff=Backoff(duration=0.02, factor=2.0, cap=0.2)) as client,
    ):
        yield client


async def test_peer_add_update_list_delete(gobgp: GoBGPClient) -> None:
    spec = PeerSpec(NEIGHBOR, 65002, remote_port=1790, hold_time=9)
    await gobgp.add_peer(spec)
    with pytest.raises(AlreadyExists, match="can't overwrite the existing peer"):
        await gobgp.add_peer(spec)
    await gobgp.update_peer(PeerSpec(NEIGHBOR, 65003))
    (peer,) = await gobgp.list_peers()
    assert peer.spec.peer_asn == 65003
    assert await gobgp.get_peer(ipaddress.ip_address("2001:db8::99")) is None
    await gobgp.delete_peer(NEIGHBOR)
    with pytest.raises(NotFound, match="can't delete a peer configuration"):
        await gobgp.delete_peer(NEIGHBOR)


async def test_add_path_before_start_is_not_started(gobgp: GoBGPClient) -> None:
    with pytest.raises(NotStarted):
        await gobgp.add_path(v6_paths(1)[0])


async def test_bulk_injection_from_sync_and_async_iterables(gobgp: GoBGPClient) -> None:
    await gobgp.start_bgp(Global(65001, "192.0.2.1"))
    paths = v6_paths(2500)
    assert await gobgp.add_paths(paths[:1000], chunk_size=300) == 1000

    async def rest() -> AsyncIterator[Path]:
        for p in paths[1000:]:
            yield p

    assert await gobgp.add_paths(rest()) == 1500
    assert (await gobgp.get_table(IPV6_UNICAST)).paths == 2500
    listed = await gobgp.list_paths(IPV6_UNICAST)
    assert sorted(p.prefix for p in listed) == sorted(p.prefix for p in paths)
    assert await gobgp.add_paths(p.withdrawal() for p in paths) == 2500
    assert (await gobgp.get_table(IPV6_UNICAST)).paths == 0


async def test_delete_all_local_paths_of_one_family(gobgp: GoBGPClient) -> None:
    await gobgp.start_bgp(Global(65001, "192.0.2.1"))
    await gobgp.add_paths(v6_paths(3))
    await gobgp.add_path(Path(ipaddress.ip_network("192.0.2.0/24")))
    await gobgp.delete_all_local_paths(IPV6_UNICAST)
    assert (await gobgp.get_table(IPV6_UNICAST)).paths == 0
    assert (await gobgp.get_table(IPV4_UNICAST)).paths == 1


async def test_assignment_errors_are_typed(gobgp: GoBGPClient) -> None:
    with pytest.raises(InvalidArgument, match="empty table name"):
        await gobgp.add_policy_assignment(PolicyAssignment(PolicyDirection.EXPORT, ("p",), name=""))
    await gobgp.add_policy_assignment(PolicyAssignment(PolicyDirection.EXPORT, ("p",)))
    with pytest.raises(AlreadyExists, match="duplicated policy"):
        await gobgp.add_policy_assignment(PolicyAssignment(PolicyDirection.EXPORT, ("p",)))
