"""Property tests of the route diff (bgpctl.routesync.diff.diff) against InMemoryRouteTable.

Random installed/desired sets plus random foreign routes: applying the diff must leave
exactly the desired routes as ours, leave foreign routes alone, and touch no key that
was already right.
"""

from collections.abc import Coroutine
from typing import Any, TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st

from bgpctl.routesync.diff import diff
from bgpctl.routesync.options import RouteSyncOptions
from bgpctl.routesync.types import Route
from bgpctl.testing.routes import InMemoryRouteTable

T = TypeVar("T")
PREFIXES = [f"2001:db8:{i:x}::/48" for i in range(6)] + [f"192.0.2.{i * 16}/28" for i in range(4)]
GATEWAYS6 = ["2001:db8:ff::2", "2001:db8:ff::3"]
GATEWAYS4 = ["198.51.100.2", "198.51.100.3"]


def run_to_completion(coroutine: Coroutine[Any, Any, T]) -> T:
    """Drive a coroutine that never suspends (InMemoryRouteTable) without an event loop."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    raise AssertionError("coroutine suspended")


@st.composite
def routes(draw: st.DrawFn) -> dict[tuple[int, str], Route]:
    chosen = draw(st.sets(st.sampled_from(PREFIXES)))
    table = {}
    for prefix in chosen:
        pool = GATEWAYS6 if ":" in prefix else GATEWAYS4 + GATEWAYS6
        gateways = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2))
        route = Route.via(prefix, *gateways, table=draw(st.sampled_from([254, 100])))
        table[route.key] = route
    return table


@settings(max_examples=100, deadline=None)
@given(installed=routes(), desired=routes(), foreign=routes())
def test_applying_the_diff_yields_exactly_the_desired_routes(
    installed: dict[tuple[int, str], Route],
    desired: dict[tuple[int, str], Route],
    foreign: dict[tuple[int, str], Route],
) -> None:
    metric_for = RouteSyncOptions().metric_for
    kernel = InMemoryRouteTable()
    for route in foreign.values():
        # Foreign routes at another metric, so they never collide with ours.
        kernel.seed(route, metric=metric_for(route.family) + 5, protocol=4)
    for route in installed.values():
        kernel.seed(route, metric=metric_for(route.family), protocol=196)
    before_foreign = kernel.foreign()

    ops = diff(desired, installed, metric_for)
    failures = run_to_completion(kernel.write(ops))

    assert failures == {}
    assert kernel.ours() == desired
    assert kernel.foreign() == before_foreign
    touched = {op[1].key for op in ops}
    unchanged = {k for k in desired.keys() & installed.keys() if desired[k] == installed[k]}
    assert not touched & unchanged
    assert len(touched) == len(ops)
