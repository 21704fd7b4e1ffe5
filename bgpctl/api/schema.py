"""Annotated scalar types that carry their OpenAPI/Kubernetes schema with them.

Each alias adds bounds for pydantic *and* the structural-schema keywords Kubernetes
needs (``format``, ``maxLength``, ``x-kubernetes-validations``), so a field written
once in a model is validated the same way by the API server at admission.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic.alias_generators import to_camel


def k8s(**extra: Any) -> Any:
    """Attach Kubernetes-only schema keywords (``x-kubernetes-*``, ``format``) to a field."""
    return Field(json_schema_extra=extra)


def cel(rule: str, message: str, *, field_path: str | None = None) -> dict[str, str]:
    """One CEL validation rule (``x-kubernetes-validations`` entry)."""
    out = {"rule": rule, "message": message}
    if field_path is not None:
        out["fieldPath"] = field_path
    return out


def rules(*validations: dict[str, str]) -> ConfigDict:
    """Model config adding object-level CEL rules (merged with the base config)."""
    entries: list[JsonValue] = [dict(v) for v in validations]
    return ConfigDict(json_schema_extra={"x-kubernetes-validations": entries})


class ApiModel(BaseModel):
    """Base of every spec/status model: camelCase on the wire, unknown fields kept out."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
        use_attribute_docstrings=True,
    )

    def to_dict(self) -> dict[str, Any]:
        """The wire form: camelCase keys, unset optional fields omitted."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


ASNumber = Annotated[
    int,
    Field(ge=1, le=4294967295, description="Autonomous system number (4-octet, RFC 6793)."),
    k8s(format="int64"),
]
"""A 4-octet AS number. int64 on the wire: int32 cannot hold values above 2^31-1."""

Uint32 = Annotated[int, Field(ge=0, le=4294967295), k8s(format="int64")]
Port = Annotated[int, Field(ge=1, le=65535), k8s(format="int32")]
TTL = Annotated[int, Field(ge=1, le=255), k8s(format="int32")]
HoldTime = Annotated[
    int,
    Field(ge=3, le=65535, description="BGP hold time in seconds (RFC 4271: at least 3)."),
    k8s(format="int32"),
]
KeepaliveTime = Annotated[
    int,
    Field(ge=1, le=21845, description="Keepalive interval in seconds; must be below holdTime."),
    k8s(format="int32"),
]
MaskLength = Annotated[int, Field(ge=0, le=128), k8s(format="int32")]
Count = Annotated[int, Field(ge=0), k8s(format="int32")]

ObjectName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=253,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    ),
]
"""The name of another cluster-scoped object (DNS-1123 subdomain)."""

IPv4Address = Annotated[str, Field(max_length=15), k8s(format="ipv4")]
"""A dotted-quad IPv4 address (router IDs, route-reflector cluster IDs)."""

IPAddress = Annotated[
    str,
    Field(max_length=45),
    k8s(**{"x-kubernetes-validations": [cel("isIP(self)", "must be an IPv4 or IPv6 address")]}),
]
"""An IPv4 or IPv6 address, without zone or prefix length."""

CIDR = Annotated[
    str,
    Field(max_length=49),
    k8s(
        **{
            "x-kubernetes-validations": [
                cel("isCIDR(self)", "must be an IPv4 or IPv6 prefix in CIDR notation"),
                cel(
                    "!isCIDR(self) || cidr(self) == cidr(self).masked()",
                    "must not have host bits set (use the network address)",
                ),
            ]
        }
    ),
]
"""An IPv4 or IPv6 prefix in canonical CIDR form (no host bits set)."""

WELL_KNOWN_COMMUNITIES = (
    "no-export",
    "no-advertise",
    "no-export-subconfed",
    "no-peer",
    "blackhole",
    "graceful-shutdown",
)

StandardCommunity = Annotated[
    str,
    Field(
        max_length=19,
        pattern=r"^([0-9]{1,5}:[0-9]{1,5}|" + "|".join(WELL_KNOWN_COMMUNITIES) + r")$",
        description=(
            "A standard community (RFC 1997) as ASN:value with two 16-bit halves, "
            "or a well-known name: " + ", ".join(WELL_KNOWN_COMMUNITIES) + "."
        ),
    ),
    k8s(
        **{
            "x-kubernetes-validations": [
                cel(
                    "!self.contains(':') || self.split(':').all(p, int(p) <= 65535)",
                    "each half of a standard community must be 0..65535",
                )
            ]
        }
    ),
]

LargeCommunity = Annotated[
    str,
    Field(
        max_length=32,
        pattern=r"^[0-9]{1,10}:[0-9]{1,10}:[0-9]{1,10}$",
        description="A large community (RFC 8092) as globalAdmin:localData1:localData2.",
    ),
    k8s(
        **{
            "x-kubernetes-validations": [
                cel(
                    "self.split(':').all(p, int(p) <= 4294967295)",
                    "each part of a large community must be 0..4294967295",
                )
            ]
        }
    ),
]
