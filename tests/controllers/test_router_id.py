"""Router-ID resolution and the StartBgp decision (pure functions)."""

from __future__ import annotations

import ipaddress

import pytest

from bgpctl.api.v1alpha1.configuration import BGPConfigurationSpec
from bgpctl.controllers.configuration import (
    RouterIDError,
    derive_router_id,
    needs_start,
    resolve_router_id,
)
from bgpctl.gobgp.types import Global


def test_ipv4_address_is_its_own_router_id() -> None:
    assert derive_router_id("192.0.2.7") == "192.0.2.7"


def test_ipv6_router_id_is_stable_dotted_quad() -> None:
    rid = derive_router_id("2001:db8:ab::1")
    assert rid == derive_router_id("2001:db8:ab:0::1")  # same address, other spelling
    value = int(ipaddress.IPv4Address(rid))
    assert value not in (0, 0xFFFFFFFF)


def test_ipv6_addresses_sharing_last_32_bits_do_not_collide() -> None:
    # The Go original took the last 32 bits: both of these became 0.0.0.5.
    assert derive_router_id("2001:db8:1::5") != derive_router_id("2001:db8:2::5")
    ids = {derive_router_id(f"2001:db8:{i:x}::5") for i in range(2000)}
    assert len(ids) == 2000


def test_manual_router_id_wins() -> None:
    spec = BGPConfigurationSpec.model_validate(
        {"asNumber": 65000, "routerIDSource": "Manual", "routerID": "10.0.0.1"}
    )
    assert resolve_router_id(spec, "2001:db8::1") == "10.0.0.1"
    assert resolve_router_id(spec, None) == "10.0.0.1"


def test_node_ip_uses_endpoint_address() -> None:
    spec = BGPConfigurationSpec.model_validate({"asNumber": 65000})
    assert resolve_router_id(spec, "198.51.100.9") == "198.51.100.9"
    assert resolve_router_id(spec, "2001:db8::9") == derive_router_id("2001:db8::9")


@pytest.mark.parametrize(
    ("spec", "address"),
    [
        ({"asNumber": 65000, "routerIDSource": "Manual"}, "192.0.2.1"),
        ({"asNumber": 65000}, None),
        ({"asNumber": 65000}, "not-an-ip"),
    ],
)
def test_unresolvable_router_id(spec: dict[str, object], address: str | None) -> None:
    with pytest.raises(RouterIDError):
        resolve_router_id(BGPConfigurationSpec.model_validate(spec), address)


def test_start_only_when_something_differs() -> None:
    desired = Global(asn=65000, router_id="192.0.2.1", listen_port=1790)
    assert needs_start(Global(asn=0, router_id=""), desired)  # unstarted gobgpd
    assert not needs_start(desired, desired)
    assert needs_start(Global(65001, "192.0.2.1", 1790), desired)
    assert needs_start(Global(65000, "192.0.2.2", 1790), desired)
    assert needs_start(Global(65000, "192.0.2.1", 179), desired)
