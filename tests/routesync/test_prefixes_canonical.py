"""Prefix/address canonicalisation and containment matching (bgpctl.routesync.prefixes).

Pure functions; no kernel.
"""

import pytest

from bgpctl.routesync.prefixes import PrefixSet, canonical_address, canonical_prefix


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2001:0db8:0000::/32", "2001:db8::/32"),
        ("2001:DB8:1::/48", "2001:db8:1::/48"),
        ("192.0.2.0/24", "192.0.2.0/24"),
        ("192.0.2.7", "192.0.2.7/32"),
        ("::/0", "::/0"),
    ],
)
def test_prefixes_are_canonicalised(text: str, expected: str) -> None:
    assert canonical_prefix(text) == expected


@pytest.mark.parametrize(
    "text", ["192.0.2.1/24", "2001:db8::1/64", "192.0.2.0/33", "nonsense/8", "2001:db8::/x"]
)
def test_invalid_prefixes_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        canonical_prefix(text)


def test_addresses_are_canonicalised() -> None:
    assert canonical_address("2001:DB8:0::1") == "2001:db8::1"
    with pytest.raises(ValueError):
        canonical_address("2001:db8::g")


def test_containment_matches_inside_and_equal_but_not_outside() -> None:
    excluded = PrefixSet(["2001:db8:5::/48", "198.51.100.0/24"])
    assert excluded.contains("2001:db8:5::/48")
    assert excluded.contains("2001:db8:5:7::/64")
    assert excluded.contains("198.51.100.128/25")
    assert not excluded.contains("2001:db8::/32")  # wider than the excluded network
    assert not excluded.contains("2001:db8:6::/64")
    assert not excluded.contains("203.0.113.0/24")
    assert not PrefixSet().contains("2001:db8::/32")
