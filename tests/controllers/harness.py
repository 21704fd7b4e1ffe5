"""Helpers shared by the end-to-end tests of tests/controllers: GoBGP clients with quick
reconnects, polling, object bodies, and node agents run in the test's own process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from bgpctl.cli.operator import OperatorOptions, run_operator
from bgpctl.cli.run import RunOptions, run_node_agent
from bgpctl.envtest import ControlPlane
from bgpctl.gobgp.client import GoBGPClient
from bgpctl.runtime.backoff import Backoff


def gobgp_client(target: str) -> GoBGPClient:
    """Quick reconnects, so a gobgpd restart is noticed within a second."""
    return GoBGPClient(
        target,
        backoff=Backoff(duration=0.05, factor=2.0, cap=0.5),
        health_interval=1.0,
        attempt_timeout=2.0,
    )


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float, what: str, interval: float = 0.2
) -> None:
    """Poll ``check`` until true; fail with ``what`` after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            pytest.fail(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(interval)


def obj(
    rt: Any, name: str, spec: dict[str, Any], labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """A cluster-scoped object of ``rt``'s kind."""
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": rt.api_version, "kind": rt.kind, "metadata": meta, "spec": spec}


@contextlib.asynccontextmanager
async def in_process_agent(
    plane: ControlPlane, endpoint: str, target: str, **options: Any
) -> AsyncIterator[asyncio.Task[None]]:
    """``bgp run`` as a task of this process, under the controller's RBAC identity.

    ``options`` are further ``RunOptions`` fields (``fib``, ``fib_netns``, ``leader_elect``…).
    """
    run = RunOptions(
        local_endpoint=endpoint,
        kubeconfig=str(plane.controller_kubeconfig),
        metrics_addr="",
        health_addr="",
        handle_signals=False,
        gobgp_connect_timeout=15.0,
        **options,
    )
    task = asyncio.create_task(run_node_agent(run, gobgp=gobgp_client(target)))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def in_process_operator(plane: ControlPlane, identity: str) -> AsyncIterator[None]:
    """``bgp operator`` as a task of this process, under the controller's RBAC identity."""
    options = OperatorOptions(
        kubeconfig=str(plane.controller_kubeconfig),
        metrics_addr="",
        health_addr="",
        handle_signals=False,
        identity=identity,
    )
    task = asyncio.create_task(run_operator(options))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
