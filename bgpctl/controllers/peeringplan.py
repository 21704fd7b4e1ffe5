"""The pure half of the peering-policy controller: which sessions a policy implies.

:func:`desired_sessions` turns a policy spec and the matched endpoints into a
:class:`Plan` (mesh: one session per unordered pair; route-reflector: one per client,
``localEndpoint`` = the single reflector) or the reason it cannot. Session names are
``<policy>-<a>--<b>`` (endpoint names sorted) when that is at most 253 characters and
unique within the plan, otherwise ``<policy cut to 100>-<20 hex of SHA-256 over policy,
a, b joined by NUL>``. The I/O lives in :mod:`bgpctl.controllers.peeringpolicy`.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bgpctl.api.v1alpha1.peeringpolicy import BGPPeeringPolicySpec
from bgpctl.api.v1alpha1.session import BGPSessionSpec, GracefulRestart

MAX_NAME = 253
_HASH_PREFIX = 100
_HASH_HEX = 20
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_DEFAULT_HOLD = BGPSessionSpec.model_fields["hold_time"].default
_DEFAULT_KEEPALIVE = BGPSessionSpec.model_fields["keepalive_time"].default
_DEFAULT_RESTART = GracefulRestart.model_fields["restart_time"].default


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """One session a policy wants."""

    name: str
    local_endpoint: str
    remote_endpoint: str
    cluster_id: str | None = None
    hold_time: int | None = None
    keepalive_time: int | None = None
    restart_time: int | None = None
    """Graceful restart's restart time; ``None``: graceful restart off."""

    def spec(self) -> dict[str, Any]:
        """The session spec to create (unset timers omitted: the CRD defaults apply)."""
        spec: dict[str, Any] = {
            "localEndpoint": self.local_endpoint,
            "remoteEndpoint": self.remote_endpoint,
        }
        if self.hold_time is not None:
            spec["holdTime"] = self.hold_time
        if self.keepalive_time is not None:
            spec["keepaliveTime"] = self.keepalive_time
        if self.cluster_id is not None:
            spec["routeReflector"] = {"clusterID": self.cluster_id}
        if self.restart_time is not None:
            spec["gracefulRestart"] = {"restartTime": self.restart_time}
        return spec

    def drifted(self, spec: Mapping[str, Any]) -> bool:
        """Whether an existing session's ``spec`` differs in a field the policy sets."""
        rr = spec.get("routeReflector") or {}
        return (
            spec.get("localEndpoint") != self.local_endpoint
            or spec.get("remoteEndpoint") != self.remote_endpoint
            or spec.get("holdTime", _DEFAULT_HOLD) != (self.hold_time or _DEFAULT_HOLD)
            or spec.get("keepaliveTime", _DEFAULT_KEEPALIVE)
            != (self.keepalive_time or _DEFAULT_KEEPALIVE)
            or rr.get("clusterID") != self.cluster_id
            or _restart_time(spec) != self.restart_time
        )


def _restart_time(spec: Mapping[str, Any]) -> int | None:
    gr = spec.get("gracefulRestart")
    if not isinstance(gr, Mapping):
        return None
    return int(gr.get("restartTime", _DEFAULT_RESTART))


@dataclass(frozen=True, slots=True)
class Plan:
    """What a policy wants: the matched endpoints and the sessions, or why it cannot say."""

    matched: tuple[str, ...]
    sessions: tuple[SessionPlan, ...] = ()
    reason: str | None = None
    """``NoReflector`` or ``MultipleReflectors`` when no plan can be made."""
    message: str = ""


def _cut(name: str, limit: int) -> str:
    # A prefix of a DNS-1123 subdomain is one again once trailing '-' and '.' are gone.
    return name[:limit].rstrip("-.")


def hashed_session_name(policy: str, a: str, b: str) -> str:
    """Short form: ``<policy cut to 100>-<20 hex of SHA-256 of policy, a, b NUL-joined>``."""
    digest = hashlib.sha256(f"{policy}\0{a}\0{b}".encode()).hexdigest()[:_HASH_HEX]
    prefix = _cut(policy, _HASH_PREFIX)
    return f"{prefix}-{digest}" if prefix else digest


def session_name(policy: str, a: str, b: str) -> str:
    """``<policy>-<a>--<b>`` for the sorted pair when ≤ 253 chars, else the hashed form."""
    a, b = sorted((a, b))
    name = f"{policy}-{a}--{b}"
    return name if len(name) <= MAX_NAME else hashed_session_name(policy, a, b)


def is_label_value(value: str) -> bool:
    """Whether ``value`` is a valid label value (≤ 63 chars, label syntax)."""
    return len(value) <= 63 and bool(_LABEL_VALUE.match(value))


def desired_sessions(
    name: str, spec: BGPPeeringPolicySpec, endpoints: Mapping[str, dict[str, str]]
) -> Plan:
    """The sessions policy ``name`` wants, given every endpoint's labels by name."""
    matched = tuple(sorted(n for n, labels in endpoints.items() if spec.selector.matches(labels)))
    template = spec.session_template
    hold = template.hold_time if template else None
    keepalive = template.keepalive_time if template else None
    gr = template.graceful_restart if template else None
    pairs: list[tuple[str, str, str | None]] = []  # (local, remote, clusterID)
    if spec.mode == "route-reflector" and spec.route_reflector_config is not None:
        rr = spec.route_reflector_config
        reflectors = [n for n in matched if rr.reflector_selector.matches(endpoints[n])]
        if not reflectors:
            return Plan(
                matched,
                reason="NoReflector",
                message=f"reflectorSelector matches none of the {len(matched)} selected "
                "endpoints; exactly one is required",
            )
        if len(reflectors) > 1:
            return Plan(
                matched,
                reason="MultipleReflectors",
                message=f"reflectorSelector matches {len(reflectors)} endpoints "
                f"({', '.join(reflectors)}); exactly one is required",
            )
        reflector = reflectors[0]
        pairs = [(reflector, c, rr.cluster_id) for c in matched if c != reflector]
    else:
        pairs = [(a, b, None) for i, a in enumerate(matched) for b in matched[i + 1 :]]
    names = [session_name(name, lo, re_) for lo, re_, _ in pairs]
    # "p-a--b--c" is both (a, b--c) and (a--b, c): colliding readable names are hashed.
    clashes = {n for n, count in Counter(names).items() if count > 1}
    sessions = tuple(
        SessionPlan(
            name=hashed_session_name(name, *sorted((lo, re_))) if n in clashes else n,
            local_endpoint=lo,
            remote_endpoint=re_,
            cluster_id=cluster_id,
            hold_time=hold,
            keepalive_time=keepalive,
            restart_time=gr.restart_time if gr else None,
        )
        for n, (lo, re_, cluster_id) in zip(names, pairs, strict=True)
    )
    return Plan(matched, sessions)
