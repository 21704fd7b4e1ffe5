"""Fixtures for tests against real gobgpd in network namespaces (marked ``root``).

Every gobgpd fixture is parametrised over the GoBGP builds under test: Debian's
gobgpd (3.10) and GoBGP v3.37.0 built from the Go module proxy by
``bgpctl.testing.gobgp_build`` (cached in ~/.cache/bgpctl/gobgp, built on first use).
Namespaces come from one ``Lab`` per session, named ``bgpt-<run>-...`` and removed at
the end even when tests fail; daemon logs are attached to failing tests' reports.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass
from typing import TypeVar

import pytest

from bgpctl.gobgp.client import GoBGPClient
from bgpctl.runtime.backoff import Backoff
from bgpctl.testing.gobgp_build import (
    DEFAULT_VERSION,
    GoBGPBinaries,
    build_gobgp,
    debian_binaries,
    default_cache_root,
)
from bgpctl.testing.netns import GoBGPD, Lab, remove_stale

T = TypeVar("T")
GOBGP_VERSIONS = ("debian", DEFAULT_VERSION)
LISTEN_PORT = 1790  # both sides listen here, so peers need remote_port=1790
_tags = itertools.count()
_lab: Lab | None = None


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """One namespace lab for the session; everything in it is removed at the end."""
    global _lab
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 for network namespaces")
    remove_stale()
    with Lab() as lab:
        _lab = lab
        try:
            yield lab
        finally:
            _lab = None


@pytest.fixture(scope="session", params=GOBGP_VERSIONS)
def gobgp_binaries(request: pytest.FixtureRequest) -> GoBGPBinaries:
    """gobgpd/gobgp of the GoBGP build under test."""
    version: str = request.param
    if version == "debian":
        binaries = debian_binaries()
        if not binaries.gobgpd.exists():
            pytest.skip("Debian gobgpd is not installed")
        return binaries
    cached = default_cache_root() / version / "gobgpd"
    if not cached.exists() and shutil.which("go") is None:
        pytest.skip(f"GoBGP {version} is not built and Go is not installed")
    return build_gobgp(version)


@dataclass(frozen=True)
class DaemonPair:
    """Two gobgpd joined by a veth: A has ::1/.1, B has ::2/.2."""

    a: GoBGPD
    b: GoBGPD
    version: str
    a6: str = "2001:db8:ab::1"
    b6: str = "2001:db8:ab::2"
    a4: str = "198.51.100.1"
    b4: str = "198.51.100.2"


@pytest.fixture(scope="module")
def daemon_pair(lab: Lab, gobgp_binaries: GoBGPBinaries) -> Iterator[DaemonPair]:
    """A fresh pair of namespaces and daemons per test module and GoBGP build."""
    tag = next(_tags)
    na, nb = lab.netns(f"{tag}a"), lab.netns(f"{tag}b")
    pair = DaemonPair(
        a=lab.gobgpd(na, binary=gobgp_binaries.gobgpd),
        b=lab.gobgpd(nb, binary=gobgp_binaries.gobgpd),
        version=gobgp_binaries.version,
    )
    lab.veth(
        na,
        nb,
        a_addrs=[f"{pair.a6}/64", f"{pair.a4}/24"],
        b_addrs=[f"{pair.b6}/64", f"{pair.b4}/24"],
    )
    try:
        yield pair
    finally:
        lab.remove(na)
        lab.remove(nb)


@pytest.fixture(scope="module")
def daemon(lab: Lab, gobgp_binaries: GoBGPBinaries) -> Iterator[GoBGPD]:
    """A single gobgpd in its own namespace, per test module and GoBGP build."""
    ns = lab.netns(f"{next(_tags)}s")
    try:
        yield lab.gobgpd(ns, binary=gobgp_binaries.gobgpd)
    finally:
        lab.remove(ns)


def make_client(target: str, **options: float) -> GoBGPClient:
    """A client with test-friendly timings (quick reconnects)."""
    settings: dict[str, float] = {"health_interval": 1.0, "attempt_timeout": 2.0, **options}
    return GoBGPClient(
        target,
        backoff=Backoff(duration=0.05, factor=2.0, cap=0.5),
        health_interval=settings["health_interval"],
        attempt_timeout=settings["attempt_timeout"],
    )


@pytest.fixture
async def pair_clients(daemon_pair: DaemonPair) -> AsyncIterator[tuple[GoBGPClient, GoBGPClient]]:
    """Connected clients for A and B (daemons restarted first if a test killed them)."""
    for d in (daemon_pair.a, daemon_pair.b):
        if not d.running:
            d.start()
    async with make_client(daemon_pair.a.target) as a, make_client(daemon_pair.b.target) as b:
        yield a, b


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float = 5.0, interval: float = 0.1
) -> None:
    """Poll ``check`` until it returns True; TimeoutError after ``within`` seconds."""
    async with asyncio.timeout(within):
        for _ in itertools.count():
            if await check():
                return
            await asyncio.sleep(interval)


async def take(stream: AsyncIterator[T], n: int, *, within: float = 5.0) -> list[T]:
    """The next ``n`` items of ``stream``, within ``within`` seconds."""
    out: list[T] = []
    async with asyncio.timeout(within):
        for _ in range(n):
            out.append(await anext(stream))
    return out


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and _lab is not None and "gobgp_binaries" in getattr(item, "fixturenames", ()):
        for d in _lab.daemons:
            report.sections.append((f"gobgpd {d.netns.name} log", d.log_tail(40)))
    return report
