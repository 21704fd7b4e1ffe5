"""The route diff: which kernel writes turn the installed set into the desired set.

Pure functions, shared by the engine (one key at a time, as changes arrive) and by tests.
Only keys whose routes differ produce an op; a route present on both sides but different
is replaced in place (same table, prefix and metric), never deleted and re-added, so
traffic keeps flowing during a next-hop change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bgpctl.routesync.types import Op, OpKind, Route, RouteKey


def plan(want: Route | None, have: Route | None, metric_for: Callable[[int], int]) -> Op | None:
    """Return the one write that turns ``have`` into ``want`` for a key, or None.

    Args:
        want: the route the key should have (None: no route).
        have: the route of ours the kernel has for the key (None: none).
        metric_for: family -> metric, the priority of our routes.
    """
    if want == have:
        return None
    if want is None:
        assert have is not None
        return (OpKind.DELETE, have, metric_for(have.family))
    if have is None:
        return (OpKind.ADD, want, metric_for(want.family))
    return (OpKind.REPLACE, want, metric_for(want.family))


def diff(
    desired: Mapping[RouteKey, Route],
    installed: Mapping[RouteKey, Route],
    metric_for: Callable[[int], int],
) -> list[Op]:
    """Return the writes that turn ``installed`` into ``desired``: deletes first, then the rest.

    Applying them (to a table that holds ``installed`` among other routes) leaves exactly
    ``desired`` as our routes, and touches no key whose route is already right.
    """
    deletes: list[Op] = []
    writes: list[Op] = []
    for key, have in installed.items():
        if key not in desired:
            deletes.append((OpKind.DELETE, have, metric_for(have.family)))
    for key, want in desired.items():
        op = plan(want, installed.get(key), metric_for)
        if op is not None:
            writes.append(op)
    return deletes + writes
