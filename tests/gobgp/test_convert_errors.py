"""Mapping of gRPC failures and GoBGP's error messages to the GoBGPError tree.

Messages are GoBGP's own (pkg/server, internal/pkg/table), which arrive with code
UNKNOWN; transport codes must win over messages. The end-to-end path through a real
grpc.aio server is in test_client_fake; against real gobgpd in test_gobgpd_policy.
"""

from __future__ import annotations

import grpc
import pytest

from bgpctl.gobgp.errors import (
    AlreadyExists,
    GoBGPError,
    GoBGPTimeout,
    GoBGPUnavailable,
    InUse,
    InvalidArgument,
    NotFound,
    NotStarted,
    ResourceExhausted,
    Unimplemented,
    classify,
    is_already_exists,
    is_not_found,
    is_retriable,
    map_grpc_errors,
    translate,
)

UNKNOWN = grpc.StatusCode.UNKNOWN


class FakeRpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("can't overwrite the existing peer: 2001:db8:ab::2", AlreadyExists),
        ("statement bgprp-x_stmt0 already defined", AlreadyExists),
        ("duplicated policy bgprp-x", AlreadyExists),
        ("vrf red already exists", AlreadyExists),
        ("can't delete a peer configuration for 2001:db8:ab::2", NotFound),
        ("neighbor that has 198.51.100.2 doesn't exist", NotFound),
        ("not found defined-set: ps", NotFound),
        ("not found policy: p", NotFound),
        ("can't find a specified path", NotFound),
        ("can't delete. defined-set ps is in use", InUse),
        ("can't delete. policy p is in use", InUse),
        ("bgp server hasn't started yet", NotStarted),
        ("empty table name", InvalidArgument),
        ("non-rs-client peer 2001:db8:ab::2 doesn't have per peer policy", InvalidArgument),
        ("invalid router-id format: x", InvalidArgument),
        ("nexthop not found", InvalidArgument),
        ("duplicated policy name. policy name must be unique", InvalidArgument),
        ("something nobody anticipated", GoBGPError),
    ],
)
def test_gobgp_messages_with_code_unknown(message: str, expected: type[GoBGPError]) -> None:
    assert classify(UNKNOWN, message) is expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (grpc.StatusCode.UNAVAILABLE, GoBGPUnavailable),
        (grpc.StatusCode.CANCELLED, GoBGPUnavailable),
        (grpc.StatusCode.DEADLINE_EXCEEDED, GoBGPTimeout),
        (grpc.StatusCode.NOT_FOUND, NotFound),
        (grpc.StatusCode.ALREADY_EXISTS, AlreadyExists),
        (grpc.StatusCode.INVALID_ARGUMENT, InvalidArgument),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, ResourceExhausted),
        (grpc.StatusCode.UNIMPLEMENTED, Unimplemented),
        (grpc.StatusCode.INTERNAL, GoBGPError),
    ],
)
def test_status_codes(code: grpc.StatusCode, expected: type[GoBGPError]) -> None:
    assert classify(code, "opaque") is expected


def test_transport_codes_win_over_misleading_messages() -> None:
    assert classify(grpc.StatusCode.UNAVAILABLE, "peer not found") is GoBGPUnavailable


def test_translate_keeps_code_and_details() -> None:
    error = translate(FakeRpcError(UNKNOWN, "not found policy: p"))
    assert isinstance(error, NotFound)
    assert (error.code, error.details) == ("UNKNOWN", "not found policy: p")
    assert "not found policy: p" in str(error)


def test_map_grpc_errors_chains_the_original() -> None:
    original = FakeRpcError(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")
    with pytest.raises(GoBGPTimeout) as caught, map_grpc_errors():
        raise original
    assert caught.value.__cause__ is original
    assert is_retriable(caught.value)


def test_map_grpc_errors_leaves_other_exceptions_alone() -> None:
    with pytest.raises(KeyError), map_grpc_errors():
        raise KeyError("x")


def test_predicates() -> None:
    assert is_not_found(NotFound("x")) and not is_not_found(AlreadyExists("x"))
    assert is_already_exists(AlreadyExists("x")) and not is_retriable(AlreadyExists("x"))
    assert is_retriable(GoBGPTimeout("x")) and is_retriable(GoBGPUnavailable("x"))
