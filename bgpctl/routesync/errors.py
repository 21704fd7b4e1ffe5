"""Errors of the route sync boundary: kernel (netlink) errno values mapped to classes.

Each failed route gets one of these as its "last error" in :class:`SyncStatus`. The
classes are for callers that branch on the cause; :func:`is_retriable` says whether the
engine keeps retrying (it retries everything except its own programming errors, because a
route the kernel refuses now, e.g. a gateway not yet reachable, may be accepted later).
"""

from __future__ import annotations

import errno as errnos
import os


class RouteSyncError(Exception):
    """A kernel write or dump failed.

    Attributes:
        errno: the positive errno the kernel returned (0 if not from the kernel).
        message: the kernel's extended-ack text, if it sent one, else ``strerror``.
    """

    def __init__(self, errno: int, message: str = "") -> None:
        self.errno = errno
        self.message = message or (os.strerror(errno) if errno else "route sync error")
        super().__init__(f"[errno {errno}] {self.message}")


class RouteExists(RouteSyncError):
    """EEXIST: a route with the same table, prefix and metric exists, owned by someone else.

    The engine never replaces it; the route stays failed and is retried with backoff.
    """


class RouteNotFound(RouteSyncError):
    """ESRCH: nothing to delete (the engine treats a delete that finds nothing as done)."""


class GatewayUnreachable(RouteSyncError):
    """ENETUNREACH / EHOSTUNREACH: no route to the next hop (yet)."""


class InvalidRoute(RouteSyncError):
    """EINVAL and friends: the kernel refused the route as given (e.g. a local gateway)."""


class PermissionDenied(RouteSyncError):
    """EPERM / EACCES: the process lacks CAP_NET_ADMIN in the target network namespace."""


class AcksLost(RouteSyncError):
    """ENOBUFS or missing acks: the outcome of some writes is unknown; a resync follows."""


_BY_ERRNO: dict[int, type[RouteSyncError]] = {
    errnos.EEXIST: RouteExists,
    errnos.ESRCH: RouteNotFound,
    errnos.ENETUNREACH: GatewayUnreachable,
    errnos.EHOSTUNREACH: GatewayUnreachable,
    errnos.EINVAL: InvalidRoute,
    errnos.ENODEV: InvalidRoute,
    errnos.EAFNOSUPPORT: InvalidRoute,
    errnos.EOPNOTSUPP: InvalidRoute,
    errnos.EPERM: PermissionDenied,
    errnos.EACCES: PermissionDenied,
    errnos.ENOBUFS: AcksLost,
}


def error_for(errno: int, message: str = "") -> RouteSyncError:
    """Return the :class:`RouteSyncError` subclass instance for a positive ``errno``."""
    return _BY_ERRNO.get(errno, RouteSyncError)(errno, message)


def is_retriable(error: RouteSyncError) -> bool:
    """Return whether the engine retries a route that failed with ``error``.

    Everything the kernel reports is retried with backoff: an unreachable gateway can
    become reachable, a foreign route holding our key can go away.
    """
    return not isinstance(error, RouteNotFound)
