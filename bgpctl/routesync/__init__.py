"""Route sync engine: converge the kernel FIB to a desired set of routes.

Knows nothing of GoBGP or Kubernetes. Build a :class:`NetlinkRouteTable` (or any
:class:`RouteTable`), hand it to a :class:`RouteSyncer`, ``start()`` it, feed it a full
desired set (:meth:`RouteSyncer.replace`) and changes (:meth:`RouteSyncer.apply`).
``bgpctl.controllers.fibsync`` turns GoBGP best-path events into such changes.
"""

from bgpctl.routesync.errors import RouteSyncError
from bgpctl.routesync.options import DEFAULT_PROTOCOL, RouteSyncOptions
from bgpctl.routesync.status import RouteFailure, SyncMetrics, SyncStatus
from bgpctl.routesync.syncer import RouteSyncer
from bgpctl.routesync.table import RouteTable
from bgpctl.routesync.types import (
    MAIN_TABLE,
    Change,
    NextHop,
    Op,
    OpKind,
    Route,
    RouteKey,
    Withdraw,
)

__all__ = [
    "DEFAULT_PROTOCOL",
    "MAIN_TABLE",
    "Change",
    "NextHop",
    "Op",
    "OpKind",
    "Route",
    "RouteFailure",
    "RouteKey",
    "RouteSyncError",
    "RouteSyncOptions",
    "RouteSyncer",
    "RouteTable",
    "SyncMetrics",
    "SyncStatus",
    "Withdraw",
]
