"""What the advertisement and route-policy reconcilers rely on, against each real GoBGP build.

- A local path keeps the path identifier it was added with; a withdrawal removes it only
  with the same identifier (so bgpctl's tag tells its paths from hand-added ones).
- Versioned policies: installing twice is harmless, removal takes the policy, its
  statements and its sets; the shared assignment keeps other parts' and foreign policies.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import pytest

from bgpctl.controllers import gobgppolicy
from bgpctl.controllers.advertplan import PATH_TAG
from bgpctl.controllers.gobgppolicy import Assignments, versioned
from bgpctl.gobgp.client import GoBGPClient
from bgpctl.gobgp.policy import (
    Actions,
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
from bgpctl.gobgp.types import IPV6_UNICAST, Global, Path
from bgpctl.testing.netns import GoBGPD

from .conftest import LISTEN_PORT, make_client

pytestmark = pytest.mark.root

NH = ipaddress.ip_address("2001:db8:ad::1")


@pytest.fixture
async def gobgp(daemon: GoBGPD) -> AsyncIterator[GoBGPClient]:
    if not daemon.running:
        daemon.start()
    async with make_client(daemon.target) as client:
        if not (await client.get_bgp()).started:
            await client.start_bgp(Global(65001, "192.0.2.1", listen_port=LISTEN_PORT))
        yield client


async def local_ids(gobgp: GoBGPClient) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for path in await gobgp.list_paths(IPV6_UNICAST):
        if path.is_local:
            out.setdefault(str(path.prefix), set()).add(path.identifier)
    return out


async def test_path_identifier_marks_our_paths(gobgp: GoBGPClient) -> None:
    ours = Path(
        prefix=ipaddress.ip_network("2001:db8:71::/48"), next_hops=(NH,), identifier=PATH_TAG
    )
    theirs = Path(prefix=ipaddress.ip_network("2001:db8:72::/48"), next_hops=(NH,))
    await gobgp.add_paths([ours, theirs])
    assert (await local_ids(gobgp))["2001:db8:71::/48"] == {PATH_TAG}
    assert (await local_ids(gobgp))["2001:db8:72::/48"] == {0}
    # A withdrawal with another identifier leaves the path alone.
    await gobgp.add_path(
        Path(prefix=theirs.prefix, next_hops=(NH,), is_withdraw=True, identifier=PATH_TAG)
    )
    assert "2001:db8:72::/48" in await local_ids(gobgp)
    await gobgp.add_paths([ours.withdrawal(), theirs.withdrawal()])
    remaining = await local_ids(gobgp)
    assert "2001:db8:71::/48" not in remaining and "2001:db8:72::/48" not in remaining


def _policy(base: str, prefix: str) -> gobgppolicy.VersionedPolicy:
    sets = {
        "p": DefinedSet(
            DefinedType.PREFIX, "p", prefixes=(PrefixMatch(ipaddress.ip_network(prefix)),)
        )
    }
    statement = Statement(
        conditions=Conditions(prefix_set=MatchSet("p")), actions=Actions(RouteAction.REJECT)
    )
    return versioned(base, sets, [statement])


async def test_versions_and_shared_assignment(gobgp: GoBGPClient) -> None:
    foreign = Policy("operator-x", (Statement(actions=Actions()),))
    await gobgp.add_policy(foreign)
    await gobgp.set_policy_assignment(
        PolicyAssignment(PolicyDirection.EXPORT, ("operator-x",), default_action=RouteAction.ACCEPT)
    )
    v1 = _policy("bgpctl-rp-t", "2001:db8:1::/48")
    v2 = _policy("bgpctl-rp-t", "2001:db8:2::/48")
    adv = _policy("bgpctl-adv-t", "2001:db8:3::/48")
    assert v1.name != v2.name
    for policy in (v1, v1, adv):  # installing twice is harmless ("already defined" handled)
        await gobgppolicy.install(gobgp, policy)

    first = Assignments(order=("adv", "rp"))
    assert await first.set_part(gobgp, "adv", PolicyDirection.EXPORT, (adv.name,))
    assert await first.set_part(gobgp, "rp", PolicyDirection.EXPORT, (v1.name,))
    assert not await first.set_part(gobgp, "rp", PolicyDirection.EXPORT, (v1.name,)), "no change"
    listed = await gobgp.list_policy_assignments(PolicyDirection.EXPORT)
    assert listed[0].policies == (adv.name, v1.name, "operator-x")
    assert listed[0].default_action == RouteAction.ACCEPT

    # A restarted agent: only the route-policy part is known yet; the adv part stays put.
    second = Assignments(order=("adv", "rp"))
    await gobgppolicy.install(gobgp, v2)
    assert await second.set_part(gobgp, "rp", PolicyDirection.EXPORT, (v2.name,))
    listed = await gobgp.list_policy_assignments(PolicyDirection.EXPORT)
    assert listed[0].policies == (v2.name, adv.name, "operator-x")
    removed = await gobgppolicy.remove_unused(gobgp, "bgpctl-rp-", {v2.name})
    assert removed == [v1.name]
    names = {p.name for p in await gobgp.list_policies()}
    assert v1.name not in names and {v2.name, adv.name, "operator-x"} <= names
    sets = {s.name for s in await gobgp.list_defined_sets(DefinedType.PREFIX)}
    assert not any(s.startswith(v1.name) for s in sets)
    statements = {s.name for s in await gobgp.list_statements()}
    assert not any(s.startswith(v1.name) for s in statements)

    # Clean up for the other tests of this module's daemon.
    await second.set_part(gobgp, "rp", PolicyDirection.EXPORT, ())
    await second.set_part(gobgp, "adv", PolicyDirection.EXPORT, ())
    await gobgppolicy.remove_unused(gobgp, "bgpctl-", set())
    await gobgp.delete_policy_assignment(PolicyDirection.EXPORT)
    await gobgp.delete_policy("operator-x")
