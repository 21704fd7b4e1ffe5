"""A leader-election candidate process for integration tests.

``python -m bgpctl.testing.leader_candidate --kubeconfig K --name LEASE --identity ID``
runs a :class:`~bgpctl.runtime.manager.Manager` with leader election on a real Lease,
one per-node runnable and one leader-only runnable, and SIGTERM/SIGINT handling.

It prints one JSON object per line on stdout (logs go to stderr), each with
``event``, ``identity`` and ``t`` (``time.monotonic()``, which on Linux is one clock
for every process, so a test can order events across candidates):

* ``running``: the per-node runnable started (the manager is up);
* ``leading`` / ``stopped_leading``: the leader-only runnable started / was cancelled;
* ``exit``: the manager returned (``error`` is null) or raised (``error`` says what);
  the exit status is 0 or 1 accordingly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

import structlog

from bgpctl.runtime.leaderelection.leaselock import LeaseLock, default_request_timeout
from bgpctl.runtime.manager import Manager, ManagerOptions
from bgpctl.runtime.runnable import RunnableFunc


def emit(event: str, identity: str, **fields: Any) -> None:
    line = {"event": event, "identity": identity, "t": time.monotonic(), **fields}
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--namespace", default="bgp-system")
    parser.add_argument("--name", required=True)
    parser.add_argument("--identity", required=True)
    parser.add_argument("--lease-duration", type=float, default=4.0)
    parser.add_argument("--renew-deadline", type=float, default=3.0)
    parser.add_argument("--retry-period", type=float, default=0.5)
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> int:
    identity = args.identity

    async def per_node() -> None:
        emit("running", identity)
        await asyncio.Future()

    async def leader_only() -> None:
        emit("leading", identity)
        try:
            await asyncio.Future()
        finally:
            emit("stopped_leading", identity)

    lock = await LeaseLock.from_kubeconfig(
        args.kubeconfig,
        namespace=args.namespace,
        name=args.name,
        identity=identity,
        request_timeout=default_request_timeout(args.renew_deadline),
    )
    async with lock:
        manager = Manager(
            ManagerOptions(
                leader_election=True,
                leader_election_id=args.name,
                lease_duration=args.lease_duration,
                renew_deadline=args.renew_deadline,
                retry_period=args.retry_period,
                handle_signals=True,
            ),
            leader_election_lock=lock,
        )
        manager.add(RunnableFunc(per_node), name="per-node")
        manager.add(RunnableFunc(leader_only, needs_leader_election=True), name="leader-only")
        try:
            await manager.start()
        except Exception as exc:
            emit("exit", identity, error=f"{type(exc).__name__}: {exc}")
            return 1
    emit("exit", identity, error=None)
    return 0


def main(argv: list[str] | None = None) -> int:
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    return asyncio.run(run(_parse(argv)))


if __name__ == "__main__":
    sys.exit(main())
