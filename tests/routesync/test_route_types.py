"""Route value types: validation and canonical forms (bgpctl.routesync.types)."""

import pytest

from bgpctl.routesync.types import NextHop, Route, Withdraw


def test_route_canonicalises_prefix_and_orders_ecmp_nexthops() -> None:
    a = Route.via("2001:DB8:1::/48", "2001:db8:ff::3", "2001:db8:ff::2")
    b = Route.via("2001:db8:1::/48", "2001:db8:ff::2", "2001:db8:ff::3", "2001:db8:ff::2")
    assert a == b
    assert a.key == (254, "2001:db8:1::/48")
    assert [nh.gateway for nh in a.nexthops] == ["2001:db8:ff::2", "2001:db8:ff::3"]


def test_ipv4_route_may_use_ipv6_nexthop_but_not_the_reverse() -> None:
    assert Route.via("203.0.113.0/24", "2001:db8:ff::2").nexthops[0].gateway == "2001:db8:ff::2"
    with pytest.raises(ValueError):
        Route.via("2001:db8::/32", "198.51.100.1")


@pytest.mark.parametrize(
    "build",
    [
        lambda: Route("2001:db8::/32", ()),
        lambda: Route.via("2001:db8::/32", "2001:db8::1", table=0),
        lambda: NextHop("2001:db8::1", weight=0),
        lambda: Withdraw("192.0.2.1/24"),
    ],
    ids=["no-nexthop", "table-0", "weight-0", "host-bits"],
)
def test_invalid_values_are_rejected(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]
