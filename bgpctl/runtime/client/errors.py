"""The API error tree and the boundary translator that maps client exceptions onto it.

Mirrors apimachinery ``pkg/api/errors/errors.go``: a ``metav1.Status`` answer becomes
one exception class chosen by its ``reason`` (falling back to the HTTP code), and small
predicates (``is_not_found``, ``is_conflict``, ``is_expired``...) classify errors.

Upstream: a single ``StatusError`` type carries the reason and callers test it with
the predicates; we make one subclass per reason as well, because ``except NotFound``
is the natural Python spelling. The predicates still work and are what callers
outside this package should prefer.

Upstream: transport failures (connection refused, reset) are plain Go errors; we wrap
them in :class:`ApiConnectionError` (code 0) so that a caller catching ``ApiError``
sees every failure of an API call, and ``is_retriable`` can classify them.

This module does not import the HTTP library: :func:`map_api_errors` takes the
library-specific translation from ``client.kube``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

# Status causes reported with a "too large resource version" answer (504, reason
# Timeout): the RV asked for is newer than anything the server has seen.
CAUSE_RESOURCE_VERSION_TOO_LARGE = "ResourceVersionTooLarge"


@dataclass(frozen=True, slots=True)
class StatusCause:
    """One entry of ``status.details.causes`` (a field-level validation failure)."""

    type: str
    message: str
    field: str


class ApiError(Exception):
    """An API call failed. The base of every error the client raises.

    Attributes:
        code: HTTP status code (0 when no answer was received).
        reason: Machine-readable ``metav1.StatusReason`` ("NotFound", "Conflict"...).
        message: Human-readable message from the server.
        details: ``status.details`` (name, group, kind, causes, retryAfterSeconds).
    """

    default_code = 0

    def __init__(
        self,
        message: str = "",
        *,
        code: int | None = None,
        reason: str = "",
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = self.default_code if code is None else code
        self.reason = reason
        self.message = message
        self.details: Mapping[str, Any] = details or {}

    @property
    def causes(self) -> list[StatusCause]:
        """Field causes of the failure (mostly for ``Invalid``)."""
        raw = self.details.get("causes") or []
        return [
            StatusCause(
                type=str(c.get("reason", "")),
                message=str(c.get("message", "")),
                field=str(c.get("field", "")),
            )
            for c in raw
            if isinstance(c, Mapping)
        ]

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked us to wait (429 and 5xx), if it said so."""
        value = self.details.get("retryAfterSeconds")
        return float(value) if isinstance(value, int | float) and value > 0 else None

    def __str__(self) -> str:
        reason = f" {self.reason}" if self.reason else ""
        return f"({self.code}{reason}) {self.message}"


class BadRequest(ApiError):
    """400: the request was malformed."""

    default_code = 400


class Unauthorized(ApiError):
    """401: no valid credentials."""

    default_code = 401


class Forbidden(ApiError):
    """403: authenticated but not allowed (RBAC)."""

    default_code = 403


class NotFound(ApiError):
    """404: the object (or resource) does not exist."""

    default_code = 404


class MethodNotAllowed(ApiError):
    """405: the verb is not supported on this resource."""

    default_code = 405


class Conflict(ApiError):
    """409: stale resourceVersion, or a server-side apply field conflict."""

    default_code = 409


class AlreadyExists(Conflict):
    """409 with reason AlreadyExists: a create hit an existing name."""


class Gone(ApiError):
    """410: the resource version asked for is no longer available."""

    default_code = 410


class Expired(Gone):
    """410 with reason Expired: the RV was compacted away ("too old resource version")."""


class Invalid(ApiError):
    """422: validation failed; ``causes`` names the fields."""

    default_code = 422


class TooManyRequests(ApiError):
    """429: throttled (API priority and fairness); honour ``retry_after``."""

    default_code = 429


class InternalError(ApiError):
    """500: the server failed."""

    default_code = 500


class ServiceUnavailable(ApiError):
    """503: the server is not ready (starting, shutting down, overloaded)."""

    default_code = 503


class ServerTimeout(ApiError):
    """504 (reason Timeout) or 500 (reason ServerTimeout): the server gave up waiting."""

    default_code = 504


class ApiConnectionError(ApiError):
    """No answer: the connection failed, broke, or the client-side timeout fired."""


class ConnectionRefused(ApiConnectionError):
    """The API server refused the connection (down or restarting)."""


_BY_REASON: dict[str, type[ApiError]] = {
    "BadRequest": BadRequest,
    "Unauthorized": Unauthorized,
    "Forbidden": Forbidden,
    "NotFound": NotFound,
    "MethodNotAllowed": MethodNotAllowed,
    "AlreadyExists": AlreadyExists,
    "Conflict": Conflict,
    "Gone": Gone,
    "Expired": Expired,
    "Invalid": Invalid,
    "TooManyRequests": TooManyRequests,
    "InternalError": InternalError,
    "ServiceUnavailable": ServiceUnavailable,
    "ServerTimeout": ServerTimeout,
    "Timeout": ServerTimeout,
}

_BY_CODE: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    410: Gone,
    422: Invalid,
    429: TooManyRequests,
    500: InternalError,
    503: ServiceUnavailable,
    504: ServerTimeout,
}


def from_status(status: Mapping[str, Any] | None, *, code: int = 0, message: str = "") -> ApiError:
    """Build the error for a ``metav1.Status`` answer.

    Args:
        status: The decoded Status body, or ``None`` when the body was not a Status.
        code: HTTP code, used when the Status carries none.
        message: Fallback message when the Status carries none.

    Returns:
        An instance of the most specific subclass: by reason first (it is what
        apimachinery's predicates test), then by code, else :class:`ApiError`.
    """
    status = status or {}
    raw_code = status.get("code")
    code = raw_code if isinstance(raw_code, int) and raw_code else code
    reason = str(status.get("reason") or "")
    text = str(status.get("message") or message)
    details = status.get("details")
    cls = _BY_REASON.get(reason) or _BY_CODE.get(code) or ApiError
    return cls(
        text, code=code, reason=reason, details=details if isinstance(details, Mapping) else None
    )


def to_status(err: ApiError) -> dict[str, Any]:
    """Render an error as a ``metav1.Status`` dict (what a watch ERROR event carries)."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": err.message,
        "reason": err.reason,
        "code": err.code,
        "details": dict(err.details),
    }


@contextmanager
def map_api_errors(translate: Callable[[Exception], ApiError | None]) -> Iterator[None]:
    """Translate exceptions raised inside the block into :class:`ApiError`.

    ``translate`` returns the mapped error, or ``None`` to let the exception through.
    The mapped error is chained (``raise ... from``) to the original.
    ``asyncio.CancelledError`` is a ``BaseException`` and is never touched.
    """
    try:
        yield
    except ApiError:
        raise
    except Exception as exc:
        mapped = translate(exc)
        if mapped is None:
            raise
        raise mapped from exc


def is_not_found(err: BaseException) -> bool:
    """The object does not exist."""
    return isinstance(err, NotFound)


def is_already_exists(err: BaseException) -> bool:
    """A create found the name taken."""
    return isinstance(err, AlreadyExists)


def is_conflict(err: BaseException) -> bool:
    """A write lost a race (stale RV) or an apply hit a field conflict (not AlreadyExists)."""
    return isinstance(err, Conflict) and not isinstance(err, AlreadyExists)


def is_invalid(err: BaseException) -> bool:
    """Validation failed."""
    return isinstance(err, Invalid)


def is_forbidden(err: BaseException) -> bool:
    """RBAC denied the request."""
    return isinstance(err, Forbidden)


def is_unauthorized(err: BaseException) -> bool:
    """No valid credentials."""
    return isinstance(err, Unauthorized)


def is_expired(err: BaseException) -> bool:
    """The resourceVersion is too old (410 Gone or Expired): relist from scratch."""
    return isinstance(err, Gone)


def is_too_large_resource_version(err: BaseException) -> bool:
    """The resourceVersion is newer than the server knows (after an etcd restore)."""
    if not isinstance(err, ServerTimeout):
        return False
    if any(c.type == CAUSE_RESOURCE_VERSION_TOO_LARGE for c in err.causes):
        return True
    return "too large resource version" in err.message.lower()


def is_too_many_requests(err: BaseException) -> bool:
    """Throttled by the server."""
    return isinstance(err, TooManyRequests)


def is_internal_error(err: BaseException) -> bool:
    """The server failed (500)."""
    return isinstance(err, InternalError)


def is_server_timeout(err: BaseException) -> bool:
    """The server timed out."""
    return isinstance(err, ServerTimeout)


def is_service_unavailable(err: BaseException) -> bool:
    """The server is not ready."""
    return isinstance(err, ServiceUnavailable)


def is_connection_refused(err: BaseException) -> bool:
    """The server refused the connection."""
    return isinstance(err, ConnectionRefused)


def is_retriable(err: BaseException) -> bool:
    """A later identical request may succeed: throttling, 5xx, or no answer at all."""
    return isinstance(
        err,
        TooManyRequests | InternalError | ServiceUnavailable | ServerTimeout | ApiConnectionError,
    )
