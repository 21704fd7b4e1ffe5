"""Routing policy and error mapping against a real gobgpd (per GoBGP build).

Covers a defined set + policy + global assignment round trip (listed back equal),
whole-object deletes (``all``), and the GoBGP messages our error tree must classify:
existing/unknown peers, existing statements, duplicated assignment entries, objects in
use, the empty assignment name. Does not check that policies affect routes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import pytest

from bgpctl.gobgp.client import GoBGPClient
from bgpctl.gobgp.errors import AlreadyExists, InUse, InvalidArgument, NotFound
from bgpctl.gobgp.policy import (
    Actions,
    CommunityAction,
    CommunityActionType,
    Conditions,
    DefinedSet,
    DefinedType,
    MatchSet,
    Policy,
    PolicyAssignment,
    PolicyDirection,
    PrefixMatch,
    RouteAction,
    Statement,
)
from bgpctl.gobgp.types import Global, PeerSpec
from bgpctl.testing.netns import GoBGPD

from .conftest import LISTEN_PORT, make_client

pytestmark = pytest.mark.root

PREFIXES6 = DefinedSet(
    DefinedType.PREFIX,
    "bgpt-ps6",
    prefixes=(
        PrefixMatch(ipaddress.ip_network("2001:db8:1::/48")),
        PrefixMatch(ipaddress.ip_network("2001:db8:2::/48"), max_len=64),
    ),
)
PREFIXES4 = DefinedSet(
    DefinedType.PREFIX,
    "bgpt-ps4",
    prefixes=(PrefixMatch(ipaddress.ip_network("192.0.2.0/24"), 24, 32),),
)
POLICY = Policy(
    "bgpt-pol",
    (
        Statement(
            "bgpt-pol-reject",
            Conditions(prefix_set=MatchSet("bgpt-ps6")),
            Actions(RouteAction.REJECT),
        ),
        Statement(
            "bgpt-pol-tag",
            Conditions(prefix_set=MatchSet("bgpt-ps4")),
            Actions(
                RouteAction.ACCEPT,
                community=CommunityAction(CommunityActionType.ADD, ("65001:999",)),
                local_pref=300,
            ),
        ),
    ),
)
EXPORT = PolicyAssignment(PolicyDirection.EXPORT, ("bgpt-pol",), default_action=RouteAction.ACCEPT)


@pytest.fixture
async def gobgp(daemon: GoBGPD) -> AsyncIterator[GoBGPClient]:
    if not daemon.running:
        daemon.start()
    async with make_client(daemon.target) as client:
        if not (await client.get_bgp()).started:
            await client.start_bgp(Global(65001, "192.0.2.1", listen_port=LISTEN_PORT))
        yield client


async def test_policy_round_trip_and_whole_deletes(gobgp: GoBGPClient) -> None:
    await gobgp.add_defined_set(PREFIXES6)
    await gobgp.add_defined_set(PREFIXES4)
    await gobgp.add_policy(POLICY)
    await gobgp.add_policy_assignment(EXPORT)

    assert await gobgp.list_defined_sets(DefinedType.PREFIX, "bgpt-ps6") == [PREFIXES6]
    assert await gobgp.list_defined_sets(DefinedType.PREFIX, "bgpt-ps4") == [PREFIXES4]
    assert await gobgp.list_policies("bgpt-pol") == [POLICY]
    assert await gobgp.list_policy_assignments(PolicyDirection.EXPORT) == [EXPORT]
    assert [s.name for s in await gobgp.list_statements("bgpt-pol-tag")] == ["bgpt-pol-tag"]

    with pytest.raises(AlreadyExists, match="already defined"):
        await gobgp.add_policy(POLICY)
    with pytest.raises(AlreadyExists, match="duplicated policy"):
        await gobgp.add_policy_assignment(EXPORT)
    with pytest.raises(InUse):
        await gobgp.delete_defined_set(DefinedType.PREFIX, "bgpt-ps6")
    with pytest.raises(InUse):
        await gobgp.delete_policy("bgpt-pol")

    await gobgp.delete_policy_assignment(PolicyDirection.EXPORT)
    await gobgp.delete_policy("bgpt-pol")
    await gobgp.delete_defined_set(DefinedType.PREFIX, "bgpt-ps6")
    await gobgp.delete_defined_set(DefinedType.PREFIX, "bgpt-ps4")
    assert await gobgp.list_policies("bgpt-pol") == []
    assert await gobgp.list_statements("bgpt-pol-tag") == []
    assert await gobgp.list_defined_sets(DefinedType.PREFIX) == []
    listed = await gobgp.list_policy_assignments(PolicyDirection.EXPORT)
    assert all(not a.policies for a in listed)
    with pytest.raises(NotFound):
        await gobgp.delete_policy("bgpt-pol")


async def test_partial_removal_from_a_defined_set(gobgp: GoBGPClient) -> None:
    await gobgp.add_defined_set(PREFIXES6)
    first, second = PREFIXES6.prefixes
    await gobgp.remove_from_defined_set(DefinedSet(DefinedType.PREFIX, "bgpt-ps6", (first,)))
    (left,) = await gobgp.list_defined_sets(DefinedType.PREFIX, "bgpt-ps6")
    assert left.prefixes == (second,)
    await gobgp.delete_defined_set(DefinedType.PREFIX, "bgpt-ps6")


async def test_unnamed_statements_get_gobgp_names(gobgp: GoBGPClient) -> None:
    await gobgp.add_policy(Policy("bgpt-anon", (Statement(actions=Actions(RouteAction.ACCEPT)),)))
    (policy,) = await gobgp.list_policies("bgpt-anon")
    assert [s.name for s in policy.statements] == ["bgpt-anon_stmt0"]
    await gobgp.delete_policy("bgpt-anon")


async def test_gobgp_error_messages_map_to_typed_errors(gobgp: GoBGPClient) -> None:
    peer = PeerSpec(ipaddress.ip_address("2001:db8:ab::9"), 65009, remote_port=LISTEN_PORT)
    await gobgp.add_peer(peer)
    with pytest.raises(AlreadyExists, match="can't overwrite the existing peer"):
        await gobgp.add_peer(peer)
    await gobgp.add_policy(Policy("bgpt-err", (Statement(actions=Actions(RouteAction.ACCEPT)),)))
    per_peer = PolicyAssignment(
        PolicyDirection.IMPORT, ("bgpt-err",), name=str(peer.neighbor_address)
    )
    with pytest.raises(InvalidArgument, match="doesn't have per peer policy"):
        await gobgp.add_policy_assignment(per_peer)  # only route-server clients have them
    with pytest.raises(InvalidArgument, match="empty table name"):
        await gobgp.add_policy_assignment(
            PolicyAssignment(PolicyDirection.IMPORT, ("bgpt-err",), name="")
        )
    await gobgp.delete_policy("bgpt-err")
    await gobgp.delete_peer(peer.neighbor_address)
    with pytest.raises(NotFound, match="can't delete a peer configuration"):
        await gobgp.delete_peer(peer.neighbor_address)
    with pytest.raises(NotFound):
        await gobgp.add_policy_assignment(per_peer)  # "not found peer ..."
    with pytest.raises(NotFound):
        await gobgp.delete_defined_set(DefinedType.PREFIX, "bgpt-none")


async def test_import_assigned_policy_can_be_deleted_quirk(gobgp: GoBGPClient) -> None:
    # GoBGP's in-use check on DeletePolicy looks at export assignments only (3.10 and
    # 3.37), so callers must unassign first themselves; this pins that behaviour.
    await gobgp.add_policy(Policy("bgpt-imp", (Statement(actions=Actions(RouteAction.ACCEPT)),)))
    await gobgp.add_policy_assignment(PolicyAssignment(PolicyDirection.IMPORT, ("bgpt-imp",)))
    await gobgp.delete_policy("bgpt-imp")
    (dangling,) = await gobgp.list_policy_assignments(PolicyDirection.IMPORT)
    assert dangling.policies == ("bgpt-imp",)  # still assigned, policy gone
    await gobgp.delete_policy_assignment(PolicyDirection.IMPORT)
    (cleared,) = await gobgp.list_policy_assignments(PolicyDirection.IMPORT)
    assert cleared.policies == ()
