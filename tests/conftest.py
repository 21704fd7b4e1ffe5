"""Shared fixtures: the real control plane (etcd + kube-apiserver) and test hygiene.

The control plane is started once per session with the project's CRDs and RBAC
installed. Tests that need a private instance (other apiserver flags, restarts that
would disturb others) use ``control_plane_factory``. Component logs are attached to
the report of any failing test that used a control plane.

Every async test fails if it leaves asyncio tasks running (``no_leaked_tasks``, on for
all of them); ``quiet_logs`` captures structlog events for the tests that ask for it.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import types
from collections.abc import AsyncIterator, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from bgpctl.envtest import ControlPlane, ensure_binaries
from bgpctl.envtest.binaries import find_binaries

REPO = Path(__file__).resolve().parent.parent
CRDS = REPO / "manifests" / "crds"
RBAC = REPO / "manifests" / "rbac"

_planes: list[ControlPlane] = []


def _binaries_or_skip() -> None:
    if find_binaries() is None and shutil.which("go") is None:
        pytest.skip("needs kube-apiserver and etcd: install Go and run `make envtest` (README)")
    ensure_binaries()


def prepare(plane: ControlPlane) -> ControlPlane:
    """Start ``plane`` and install the project's CRDs and RBAC into it."""
    plane.start()
    plane.install_crds(CRDS)
    plane.apply(RBAC)
    return plane


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    """A shared control plane with CRDs and RBAC; do not restart it from a test."""
    _binaries_or_skip()
    plane = ControlPlane(keep=bool(os.environ.get("BGPCTL_KEEP_ENVTEST")))
    _planes.append(plane)
    try:
        yield prepare(plane)
    finally:
        _planes.remove(plane)
        plane.stop()


@pytest.fixture
def control_plane_factory() -> Iterator[Callable[..., ControlPlane]]:
    """Start private control planes (``extra_apiserver_args=[...]``); stopped after the test."""
    _binaries_or_skip()
    started: list[ControlPlane] = []

    def make(extra_apiserver_args: list[str] | None = None) -> ControlPlane:
        plane = ControlPlane(extra_apiserver_args=extra_apiserver_args)
        started.append(plane)
        _planes.append(plane)
        return prepare(plane)

    try:
        yield make
    finally:
        for plane in started:
            _planes.remove(plane)
            plane.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if (
        report.failed
        and _planes
        and {"control_plane", "control_plane_factory"} & set(getattr(item, "fixturenames", ()))
    ):
        for plane in _planes:
            report.sections.append(("control plane logs", plane.logs()))


@pytest.fixture
async def no_leaked_tasks() -> AsyncIterator[None]:
    """Fail the test if it leaves asyncio tasks running (they are cancelled first)."""
    yield
    current = asyncio.current_task()
    leaked = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    # grpc.aio ends every call in a task of its own (a Cython coroutine, not ours), which
    # its poller thread completes just after the call is cancelled or the channel closed.
    foreign = [t for t in leaked if not isinstance(t.get_coro(), types.CoroutineType)]
    if foreign:
        await asyncio.wait(foreign, timeout=2.0)
        leaked = [t for t in leaked if not t.done()]
    for task in leaked:
        task.cancel()
    if leaked:
        await asyncio.gather(*leaked, return_exceptions=True)
        pytest.fail(f"test leaked asyncio tasks: {leaked!r}")


@pytest.fixture(autouse=True)
def _no_leaked_tasks_in_async_tests(request: pytest.FixtureRequest) -> None:
    """``no_leaked_tasks`` for every async test (set up first, so checked last)."""
    test = getattr(request.node, "obj", None)
    if test is not None and inspect.iscoroutinefunction(test):
        request.getfixturevalue("no_leaked_tasks")


@pytest.fixture
def quiet_logs() -> Iterator[list[MutableMapping[str, Any]]]:
    """Capture structlog events instead of rendering them (rich tracebacks are slow)."""
    with capture_logs() as logs:
        yield logs


def pytest_configure(config: pytest.Config) -> None:
    """Declare "no current event loop" before any test runs.

    On Python 3.11, ``asyncio.get_event_loop()`` silently creates a loop when none was
    ever set; pytest-asyncio (saving the loop around async tests) and looptime (for sync
    tests) both call it, and nobody closes that loop, so its ResourceWarning fails a
    random later test under ``filterwarnings = error``. After ``set_event_loop(None)``
    the policy stops creating loops implicitly.
    """
    asyncio.set_event_loop(None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``root`` need root (network namespaces); say how to get it."""
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root for network namespaces (README: Running the tests)")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)
