"""FibSync's event handling and the ``bgp run`` FIB flags, without a kernel."""

from __future__ import annotations

import pytest

from bgpctl.cli.run import RunOptions, fib_exclusions
from bgpctl.controllers.fibsync import BestPathDecoder
from bgpctl.controllers.fibsync_runner import FibOptions, FibSync
from bgpctl.gobgp.streams import RawBestPaths
from bgpctl.routesync import Change, Route, RouteSyncer, Withdraw

from .test_fibsync_decode import v4_path


class FakeEngine:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[Change]]] = []
        self.installed: dict[tuple[int, str], Route] = {}

    def replace(self, routes: list[Route]) -> None:
        self.calls.append(("replace", list(routes)))
        self.installed = {r.key: r for r in routes}

    def apply(self, changes: list[Change]) -> None:
        self.calls.append(("apply", list(changes)))


def test_initial_table_replaces_and_later_events_apply() -> None:
    engine = FakeEngine()
    decoder = BestPathDecoder()
    fake: RouteSyncer = engine  # type: ignore[assignment]
    fib = FibSync(None)  # type: ignore[arg-type]
    fib.handle(fake, decoder, RawBestPaths([v4_path("203.0.113.0/24")], initial=True))
    fib.handle(fake, decoder, RawBestPaths([v4_path("203.0.113.0/24", is_withdraw=True)]))
    fib.handle(fake, decoder, RawBestPaths((), initial=True))  # first subscription: replace
    assert engine.calls == [
        ("replace", [Route.via("203.0.113.0/24", "198.51.100.1")]),
        ("apply", [Withdraw("203.0.113.0/24")]),
        ("replace", []),
    ]


async def test_resubscription_keeps_missing_routes_as_stale() -> None:
    engine = FakeEngine()
    decoder = BestPathDecoder()
    fake: RouteSyncer = engine  # type: ignore[assignment]
    fib = FibSync(None)  # type: ignore[arg-type]
    a, b, c = (Route.via(f"203.0.113.{n}/32", "198.51.100.1") for n in (1, 2, 3))
    first = [v4_path(r.dst) for r in (a, b, c)]
    fib.handle(fake, decoder, RawBestPaths(first, initial=True))
    # gobgpd restarted: its table is empty at first; nothing is removed.
    fib.handle(fake, decoder, RawBestPaths((), initial=True), resubscribed=True)
    assert engine.calls[-1] == ("replace", [a, b, c])
    assert set(fib.stale) == {a.key, b.key, c.key}
    # Relearned and withdrawn routes stop being stale.
    fib.handle(fake, decoder, RawBestPaths([v4_path(a.dst)]))
    fib.handle(fake, decoder, RawBestPaths([v4_path(b.dst, is_withdraw=True)]))
    assert set(fib.stale) == {c.key}


def test_exclusions_include_srv6_net_once() -> None:
    assert fib_exclusions(["2001:db8::/32", " "], " fc00::/48 ") == ("2001:db8::/32", "fc00::/48")
    assert fib_exclusions(["fc00::/48"], "fc00::/48") == ("fc00::/48",)
    assert fib_exclusions([], None) == ()


def test_fib_options_defaults_and_validation() -> None:
    options = RunOptions(local_endpoint="n").fib_options()
    assert options == FibOptions(protocol=196, table=254, exclude=(), netns=None)
    with pytest.raises(ValueError):
        FibOptions(exclude=("not-a-network",)).route_sync_options()
    with pytest.raises(ValueError):
        FibOptions(protocol=0).route_sync_options()
