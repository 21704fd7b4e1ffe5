"""GoBGP error hierarchy and the boundary translator from gRPC errors.

GoBGP returns plain Go errors, so almost every failure arrives as gRPC code ``UNKNOWN``
and only the message tells "already exists" from "not found" (for example
``can't overwrite the existing peer: <addr>`` or ``can't delete a peer configuration for
<addr>``). ``translate`` therefore classifies by message first and by status code second;
``map_grpc_errors`` applies it at every call site, chaining the original error with
``from``. Nothing outside ``bgpctl.gobgp`` sees a ``grpc`` exception.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager

import grpc


class GoBGPError(Exception):
    """Any failure talking to gobgpd.

    Attributes:
        code: The gRPC status code name (``"UNKNOWN"``, ``"UNAVAILABLE"`` ...), or ``None``
            when the error did not come from an RPC.
        details: The server's message, verbatim.
    """

    def __init__(self, message: str, *, code: str | None = None, details: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.details = details or message


class ConversionError(GoBGPError, ValueError):
    """A value cannot be encoded for GoBGP, or a server message cannot be decoded."""


class GoBGPUnavailable(GoBGPError):
    """gobgpd is unreachable, restarting, or the channel was closed; retry later."""

    retry_expected = True
    """Routine while gobgpd restarts: controllers log it at info, without a traceback."""


class GoBGPTimeout(GoBGPUnavailable):
    """The call's deadline expired (gobgpd hung or overloaded)."""


class NotStarted(GoBGPError):
    """The operation needs a running BGP speaker; call ``start_bgp`` first."""

    retry_expected = True
    """Routine until the configuration reconciler has run StartBgp."""


class AlreadyExists(GoBGPError):
    """The object (peer, statement, policy in an assignment ...) already exists."""


class NotFound(GoBGPError):
    """The object (peer, defined set, policy, path ...) does not exist."""


class InUse(GoBGPError):
    """The object is still referenced (a defined set by a policy, a policy by an assignment)."""


class InvalidArgument(GoBGPError):
    """GoBGP rejected the request's content."""


class ResourceExhausted(GoBGPError):
    """A message exceeded a size limit (for example a huge best-path dump)."""


class Unimplemented(GoBGPError):
    """This gobgpd does not implement the RPC."""


# Checked in order, first match wins; GoBGP's messages are stable across 3.x.
_MESSAGE_RULES: tuple[tuple[re.Pattern[str], type[GoBGPError]], ...] = tuple(
    (re.compile(pattern), cls)
    for pattern, cls in (
        (r"hasn't started yet", NotStarted),
        (r"^(nexthop|nlri) not found", InvalidArgument),
        (r"duplicated (policy|statement) name", InvalidArgument),
        (r"can't overwrite the existing peer", AlreadyExists),
        (r"already (defined|exists|configured)|duplicated policy ", AlreadyExists),
        (r"is in use", InUse),
        (r"can't delete a peer configuration for", NotFound),
        (r"not found|doesn't exists?|does not exist|can't find", NotFound),
        (
            r"^(invalid|empty|unsupported|unknown|can't be both|duplicated path attribute)"
            r"|doesn't have per peer policy|not supported|nil request",
            InvalidArgument,
        ),
    )
)

_CODE_RULES: dict[grpc.StatusCode, type[GoBGPError]] = {
    grpc.StatusCode.UNAVAILABLE: GoBGPUnavailable,
    grpc.StatusCode.CANCELLED: GoBGPUnavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: GoBGPTimeout,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.UNIMPLEMENTED: Unimplemented,
}


def classify(code: grpc.StatusCode | None, details: str) -> type[GoBGPError]:
    """Pick the error class for a status code and GoBGP message.

    Transport codes (UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED) win over the message,
    which gRPC fills in itself for them; for everything else GoBGP's message decides and
    the code is the fallback.
    """
    by_code = _CODE_RULES.get(code) if code is not None else None
    if by_code is not None and issubclass(by_code, GoBGPUnavailable):
        return by_code
    for pattern, cls in _MESSAGE_RULES:
        if pattern.search(details):
            return cls
    return by_code or GoBGPError


def translate(exc: grpc.RpcError) -> GoBGPError:
    """Turn a gRPC error into the matching ``GoBGPError`` (not raised, not chained)."""
    code_fn = getattr(exc, "code", None)
    details_fn = getattr(exc, "details", None)
    code: grpc.StatusCode | None = code_fn() if callable(code_fn) else None
    details: str = (details_fn() if callable(details_fn) else None) or str(exc)
    name = code.name if code is not None else None
    cls = classify(code, details)
    return cls(f"{name}: {details}" if name else details, code=name, details=details)


@contextmanager
def map_grpc_errors() -> Iterator[None]:
    """Re-raise any ``grpc.RpcError`` inside the block as a ``GoBGPError``, chained.

    Works around ``await`` expressions too (a plain ``with`` in a coroutine). grpc.aio
    raises ``asyncio.CancelledError`` from calls that its channel cancelled (on
    ``close()``); when the current task is not itself being cancelled that is turned
    into ``GoBGPUnavailable``, and a real cancellation always propagates unchanged.
    """
    try:
        yield
    except grpc.RpcError as exc:
        raise translate(exc) from exc
    except asyncio.CancelledError as exc:
        task = asyncio.current_task()
        if task is None or task.cancelling():
            raise
        raise GoBGPUnavailable("call cancelled: the channel was closed", code="CANCELLED") from exc


def is_retriable(exc: BaseException) -> bool:
    """True for failures that may succeed unchanged later (gobgpd down or slow)."""
    return isinstance(exc, GoBGPUnavailable)


def is_not_found(exc: BaseException) -> bool:
    """True if the object did not exist (useful to make deletes idempotent)."""
    return isinstance(exc, NotFound)


def is_already_exists(exc: BaseException) -> bool:
    """True if the object already existed (useful to make adds idempotent)."""
    return isinstance(exc, AlreadyExists)
