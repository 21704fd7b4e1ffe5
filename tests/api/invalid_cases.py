"""Invalid objects and the field each rejection must name (used by the admission tests).

Each case is (id, kind, name, spec, expected): ``expected`` is a substring of the API
server's error — the field path it names, or the rule's message for object-level rules.
"""

from __future__ import annotations

from typing import Any

EP = {"address": "2001:db8::1", "asNumber": 65001}
SESS = {"localEndpoint": "node-a", "remoteEndpoint": "node-b"}
PP = {"selector": {"matchLabels": {"bgp": "yes"}}}
ADV = {"prefixes": ["2001:db8:100::/48"]}


def rp_prefix(**match: Any) -> dict[str, Any]:
    return {"type": "Import", "statements": [{"action": "Accept", "prefixSet": [match]}]}


def expr(**req: Any) -> dict[str, Any]:
    return {"selector": {"matchExpressions": [req]}}


Case = tuple[str, str, str, dict[str, Any] | None, str]

CASES: list[Case] = [
    # BGPConfiguration
    ("cfg-as-zero", "BGPConfiguration", "default", {"asNumber": 0}, "spec.asNumber"),
    ("cfg-as-too-big", "BGPConfiguration", "default", {"asNumber": 4294967296}, "spec.asNumber"),
    ("cfg-as-missing", "BGPConfiguration", "default", {"listenPort": 179}, "spec.asNumber"),
    (
        "cfg-port-zero",
        "BGPConfiguration",
        "default",
        {"asNumber": 1, "listenPort": 0},
        "spec.listenPort",
    ),
    (
        "cfg-port-big",
        "BGPConfiguration",
        "default",
        {"asNumber": 1, "listenPort": 70000},
        "spec.listenPort",
    ),
    (
        "cfg-idsource-enum",
        "BGPConfiguration",
        "default",
        {"asNumber": 1, "routerIDSource": "Auto"},
        "spec.routerIDSource",
    ),
    (
        "cfg-manual-no-id",
        "BGPConfiguration",
        "default",
        {"asNumber": 1, "routerIDSource": "Manual"},
        "spec.routerID",
    ),
    (
        "cfg-id-ipv6",
        "BGPConfiguration",
        "default",
        {"asNumber": 1, "routerIDSource": "Manual", "routerID": "2001:db8::1"},
        "spec.routerID",
    ),
    (
        "cfg-afi-enum",
        "BGPConfiguration",
        "default",
        {"asNumber": 1, "addressFamilies": [{"afi": "IPv5"}]},
        "spec.addressFamilies[0].afi",
    ),
    (
        "cfg-afi-dup",
        "BGPConfiguration",
        "default",
        {"asNumber": 1, "addressFamilies": [{"afi": "IPv6"}, {"afi": "IPv6", "safi": "Unicast"}]},
        "spec.addressFamilies",
    ),
    ("cfg-not-default", "BGPConfiguration", "other", {"asNumber": 1}, "must be named 'default'"),
    ("cfg-no-spec", "BGPConfiguration", "default", None, "spec"),
    # BGPEndpoint
    ("ep-address-word", "BGPEndpoint", "ep", {**EP, "address": "not-an-ip"}, "spec.address"),
    ("ep-address-cidr", "BGPEndpoint", "ep", {**EP, "address": "2001:db8::1/64"}, "spec.address"),
    ("ep-address-octet", "BGPEndpoint", "ep", {**EP, "address": "256.1.1.1"}, "spec.address"),
    ("ep-as-negative", "BGPEndpoint", "ep", {**EP, "asNumber": -1}, "spec.asNumber"),
    ("ep-port-zero", "BGPEndpoint", "ep", {**EP, "port": 0}, "spec.port"),
    (
        "ep-safi-enum",
        "BGPEndpoint",
        "ep",
        {**EP, "addressFamilies": [{"afi": "IPv4", "safi": "Anycast"}]},
        "spec.addressFamilies[0].safi",
    ),
    ("ep-no-address", "BGPEndpoint", "ep", {"asNumber": 65001}, "spec.address"),
    # BGPSession
    ("sess-hold-2", "BGPSession", "s", {**SESS, "holdTime": 2}, "spec.holdTime"),
    ("sess-keepalive-0", "BGPSession", "s", {**SESS, "keepaliveTime": 0}, "spec.keepaliveTime"),
    (
        "sess-keepalive-ge-hold",
        "BGPSession",
        "s",
        {**SESS, "holdTime": 9, "keepaliveTime": 9},
        "spec.keepaliveTime",
    ),
    (
        "sess-keepalive-default-hold",
        "BGPSession",
        "s",
        {**SESS, "holdTime": 20},
        "spec.keepaliveTime",
    ),
    (
        "sess-self",
        "BGPSession",
        "s",
        {"localEndpoint": "a", "remoteEndpoint": "a"},
        "spec.remoteEndpoint",
    ),
    (
        "sess-multihop-and-gtsm",
        "BGPSession",
        "s",
        {**SESS, "ebgpConfig": {"multiHop": {"ttl": 2}, "ttlSecurity": {"ttl": 1}}},
        "spec.ebgpConfig",
    ),
    (
        "sess-multihop-ttl-0",
        "BGPSession",
        "s",
        {**SESS, "ebgpConfig": {"multiHop": {"ttl": 0}}},
        "spec.ebgpConfig.multiHop.ttl",
    ),
    (
        "sess-gtsm-ttl-256",
        "BGPSession",
        "s",
        {**SESS, "ebgpConfig": {"ttlSecurity": {"ttl": 256}}},
        "spec.ebgpConfig.ttlSecurity.ttl",
    ),
    (
        "sess-rr-cluster-id",
        "BGPSession",
        "s",
        {**SESS, "routeReflector": {"clusterID": "abc"}},
        "spec.routeReflector.clusterID",
    ),
    (
        "sess-rr-no-cluster-id",
        "BGPSession",
        "s",
        {**SESS, "routeReflector": {}},
        "spec.routeReflector.clusterID",
    ),
    (
        "sess-bad-name",
        "BGPSession",
        "s",
        {**SESS, "localEndpoint": "Bad_Name"},
        "spec.localEndpoint",
    ),
    ("sess-no-remote", "BGPSession", "s", {"localEndpoint": "a"}, "spec.remoteEndpoint"),
    # BGPPeeringPolicy
    ("pp-mode-enum", "BGPPeeringPolicy", "p", {**PP, "mode": "full-mesh"}, "spec.mode"),
    (
        "pp-rr-missing-config",
        "BGPPeeringPolicy",
        "p",
        {**PP, "mode": "route-reflector"},
        "spec.routeReflectorConfig",
    ),
    (
        "pp-mesh-with-rr-config",
        "BGPPeeringPolicy",
        "p",
        {**PP, "routeReflectorConfig": {"reflectorSelector": {}, "clusterID": "192.0.2.1"}},
        "spec.routeReflectorConfig",
    ),
    ("pp-no-selector", "BGPPeeringPolicy", "p", {"mode": "mesh"}, "spec.selector"),
    (
        "pp-operator-enum",
        "BGPPeeringPolicy",
        "p",
        expr(key="a", operator="Like", values=["x"]),
        "spec.selector.matchExpressions[0].operator",
    ),
    (
        "pp-in-without-values",
        "BGPPeeringPolicy",
        "p",
        expr(key="a", operator="In"),
        "spec.selector.matchExpressions[0]",
    ),
    (
        "pp-exists-with-values",
        "BGPPeeringPolicy",
        "p",
        expr(key="a", operator="Exists", values=["x"]),
        "spec.selector.matchExpressions[0]",
    ),
    (
        "pp-template-timers",
        "BGPPeeringPolicy",
        "p",
        {**PP, "sessionTemplate": {"holdTime": 10, "keepaliveTime": 30}},
        "spec.sessionTemplate.keepaliveTime",
    ),
    (
        "pp-template-hold-1",
        "BGPPeeringPolicy",
        "p",
        {**PP, "sessionTemplate": {"holdTime": 1}},
        "spec.sessionTemplate.holdTime",
    ),
    (
        "pp-rr-cluster-id",
        "BGPPeeringPolicy",
        "p",
        {
            **PP,
            "mode": "route-reflector",
            "routeReflectorConfig": {"reflectorSelector": {}, "clusterID": "1.2.3"},
        },
        "spec.routeReflectorConfig.clusterID",
    ),
    # BGPAdvertisement
    ("adv-no-prefixes", "BGPAdvertisement", "a", {"prefixes": []}, "spec.prefixes"),
    (
        "adv-prefix-not-cidr",
        "BGPAdvertisement",
        "a",
        {"prefixes": ["2001:db8::1"]},
        "spec.prefixes[0]",
    ),
    (
        "adv-prefix-host-bits",
        "BGPAdvertisement",
        "a",
        {"prefixes": ["2001:db8::1/64"]},
        "spec.prefixes[0]",
    ),
    (
        "adv-prefix-v4-len",
        "BGPAdvertisement",
        "a",
        {"prefixes": ["192.0.2.0/33"]},
        "spec.prefixes[0]",
    ),
    (
        "adv-prefix-dup",
        "BGPAdvertisement",
        "a",
        {"prefixes": ["192.0.2.0/24", "192.0.2.0/24"]},
        "spec.prefixes[1]",
    ),
    (
        "adv-community-asn",
        "BGPAdvertisement",
        "a",
        {**ADV, "communities": ["65536:1"]},
        "spec.communities[0]",
    ),
    (
        "adv-community-value",
        "BGPAdvertisement",
        "a",
        {**ADV, "communities": ["1:70000"]},
        "spec.communities[0]",
    ),
    (
        "adv-community-word",
        "BGPAdvertisement",
        "a",
        {**ADV, "communities": ["abc"]},
        "spec.communities[0]",
    ),
    (
        "adv-large-two-parts",
        "BGPAdvertisement",
        "a",
        {**ADV, "largeCommunities": ["1:2"]},
        "spec.largeCommunities[0]",
    ),
    (
        "adv-large-overflow",
        "BGPAdvertisement",
        "a",
        {**ADV, "largeCommunities": ["4294967296:1:1"]},
        "spec.largeCommunities[0]",
    ),
    ("adv-localpref-negative", "BGPAdvertisement", "a", {**ADV, "localPref": -1}, "spec.localPref"),
    (
        "adv-localpref-overflow",
        "BGPAdvertisement",
        "a",
        {**ADV, "localPref": 4294967296},
        "spec.localPref",
    ),
    ("adv-med-negative", "BGPAdvertisement", "a", {**ADV, "med": -5}, "spec.med"),
    # BGPRoutePolicy
    (
        "rp-type-enum",
        "BGPRoutePolicy",
        "r",
        {"type": "Both", "statements": [{"action": "Accept"}]},
        "spec.type",
    ),
    (
        "rp-no-statements",
        "BGPRoutePolicy",
        "r",
        {"type": "Import", "statements": []},
        "spec.statements",
    ),
    ("rp-statements-missing", "BGPRoutePolicy", "r", {"type": "Import"}, "spec.statements"),
    (
        "rp-action-enum",
        "BGPRoutePolicy",
        "r",
        {"type": "Export", "statements": [{"action": "Drop"}]},
        "spec.statements[0].action",
    ),
    (
        "rp-cidr-word",
        "BGPRoutePolicy",
        "r",
        rp_prefix(cidr="x"),
        "spec.statements[0].prefixSet[0].cidr",
    ),
    (
        "rp-min-gt-max",
        "BGPRoutePolicy",
        "r",
        rp_prefix(cidr="2001:db8::/32", maskLengthMin=64, maskLengthMax=48),
        "spec.statements[0].prefixSet[0].maskLengthMin",
    ),
    (
        "rp-max-gt-v4",
        "BGPRoutePolicy",
        "r",
        rp_prefix(cidr="192.0.2.0/24", maskLengthMax=33),
        "spec.statements[0].prefixSet[0].maskLengthMax",
    ),
    (
        "rp-max-gt-v6",
        "BGPRoutePolicy",
        "r",
        rp_prefix(cidr="2001:db8::/32", maskLengthMax=129),
        "spec.statements[0].prefixSet[0].maskLengthMax",
    ),
    (
        "rp-min-lt-len",
        "BGPRoutePolicy",
        "r",
        rp_prefix(cidr="192.0.2.0/24", maskLengthMin=16),
        "spec.statements[0].prefixSet[0].maskLengthMin",
    ),
]
