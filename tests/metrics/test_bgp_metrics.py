"""The typed functions the reconcilers call set and remove the BGP series."""

from __future__ import annotations

from bgpctl.metrics import bgp
from bgpctl.metrics.registry import REGISTRY


def value(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_advertisement_and_route_policy_series() -> None:
    bgp.set_advertised_prefixes("adv-t", 3)
    assert value("bgp_advertised_prefixes_total", advertisement="adv-t") == 3
    bgp.forget_advertisement("adv-t")
    bgp.forget_advertisement("adv-t")  # idempotent
    assert value("bgp_advertised_prefixes_total", advertisement="adv-t") is None
    bgp.set_route_policy_applied("pol-t", True)
    assert value("bgp_route_policies_applied", policy="pol-t") == 1
    bgp.set_route_policy_applied("pol-t", False)
    assert value("bgp_route_policies_applied", policy="pol-t") == 0
    bgp.forget_route_policy("pol-t")
    assert value("bgp_route_policies_applied", policy="pol-t") is None


def test_session_series_and_unknown() -> None:
    bgp.observe_session(
        "s-t", state="Established", received=4, flaps=1, families=[("ipv6-unicast", 4, 3, 2)]
    )
    assert value("bgp_session_state", session="s-t", state="Established") == 1
    assert value("bgp_session_state", session="s-t", state="Idle") == 0
    assert value("bgp_session_up", session="s-t") == 1
    assert value("bgp_session_prefixes_accepted", session="s-t", family="ipv6-unicast") == 3
    bgp.session_unknown(["s-t"])
    assert value("bgp_session_state", session="s-t", state="Unknown") == 1
    assert value("bgp_session_up", session="s-t") == 0
    bgp.forget_session("s-t", ["ipv6-unicast"])
    assert value("bgp_session_up", session="s-t") is None
    assert value("bgp_session_prefixes_received", session="s-t", family="ipv6-unicast") is None
