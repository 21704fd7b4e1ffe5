"""Leader failover between separate processes on the real kube-apiserver.

Each candidate is ``python -m bgpctl.testing.leader_candidate`` (a Manager with leader
election on a Lease, controller kubeconfig, lease 4 s / renew 3 s / retry 0.5 s). The
test watches the Lease (admin identity) from before the first candidate starts and
checks the history: exactly one leader, ``kill -9`` -> takeover after the lease
expires, SIGTERM -> immediate handover by release, a stolen lease -> the old leader
exits non-zero, no two leaders at once, and ``leaseTransitions`` counting each
handover once. Measured failover times are printed (``-s``) and kept in the
``failover`` user property of the report.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bgpctl.runtime.client.interfaces import LEASES
from bgpctl.runtime.client.kube import KubeClient
from bgpctl.testing.rbac import grant_lease

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

NAMESPACE = "bgp-system"
LEASE, RENEW, RETRY = 4.0, 3.0, 0.5
MAX_ACQUIRE_GAP = RETRY * 2.2  # jittered acquire period upper bound
SLACK = 1.0  # process scheduling and API latency on a shared 2-core machine


@dataclass
class Candidate:
    identity: str
    proc: asyncio.subprocess.Process
    events: list[dict[str, Any]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            self.events.append(json.loads(raw))
            self.changed.set()

    def first(self, event: str) -> dict[str, Any] | None:
        return next((e for e in self.events if e["event"] == event), None)

    async def wait_for(self, event: str, within: float) -> dict[str, Any]:
        async with asyncio.timeout(within):
            while (found := self.first(event)) is None:
                self.changed.clear()
                await self.changed.wait()
        return found


@dataclass
class Observation:
    t: float
    holder: str
    transitions: int
    duration: int


async def record_lease(client: KubeClient, name: str, out: list[Observation]) -> None:
    selector = f"metadata.name={name}"
    listed = await client.list(LEASES, namespace=NAMESPACE, field_selector=selector)
    rv = listed.resource_version
    while True:
        async for event in client.watch(
            LEASES, namespace=NAMESPACE, field_selector=selector, resource_version=rv,
            timeout_seconds=300,
        ):  # fmt: skip
            obj = event.object
            rv = obj["metadata"]["resourceVersion"]
            if event.type in ("ADDED", "MODIFIED"):
                spec = obj.get("spec", {})
                out.append(
                    Observation(
                        t=time.monotonic(),
                        holder=spec.get("holderIdentity") or "",
                        transitions=int(spec.get("leaseTransitions") or 0),
                        duration=int(spec.get("leaseDurationSeconds") or 0),
                    )
                )


@contextlib.asynccontextmanager
async def cluster(control_plane) -> AsyncIterator[Any]:
    """Yields (spawn, history, name); kills every candidate and stops the watch at exit."""
    name = f"le-{uuid.uuid4().hex[:8]}"
    grant_lease(control_plane, NAMESPACE, name)
    history: list[Observation] = []
    candidates: list[Candidate] = []
    readers: list[asyncio.Task[None]] = []

    async def spawn(identity: str) -> Candidate:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bgpctl.testing.leader_candidate",
            "--kubeconfig", str(control_plane.controller_kubeconfig),
            "--namespace", NAMESPACE, "--name", name, "--identity", identity,
            "--lease-duration", str(LEASE), "--renew-deadline", str(RENEW),
            "--retry-period", str(RETRY),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        candidate = Candidate(identity, proc)
        candidates.append(candidate)
        readers.append(asyncio.create_task(candidate.read()))
        await candidate.wait_for("running", 30)
        return candidate

    async with await KubeClient.from_kubeconfig(control_plane.admin_kubeconfig) as client:
        watcher = asyncio.create_task(record_lease(client, name, history))
        await asyncio.sleep(0.5)  # the watch is open before anyone writes
        try:
            yield spawn, history, name
        finally:
            for candidate in candidates:
                if candidate.proc.returncode is None:
                    candidate.proc.kill()
                await candidate.proc.wait()
            await asyncio.gather(*readers)
            watcher.cancel()
            await asyncio.wait([watcher])


def leaders(candidates: list[Candidate]) -> list[str]:
    return [c.identity for c in candidates if c.first("leading") is not None]


def check_history(history: list[Observation]) -> None:
    """No holder is replaced before its lease ran out; transitions count handovers."""
    last_seen: dict[str, float] = {}
    for prev, cur in zip(history, history[1:], strict=False):
        last_seen[prev.holder] = prev.t
        if cur.holder and cur.holder != prev.holder:
            assert cur.transitions == prev.transitions + 1, (prev, cur)
            if prev.holder:  # a takeover, not an acquisition after a release
                assert cur.t - last_seen[prev.holder] >= prev.duration - 0.5, (prev, cur)
        else:
            assert cur.transitions == prev.transitions, (prev, cur)


def check_disjoint(candidates: list[Candidate], ends: dict[str, float]) -> None:
    intervals = []
    for c in candidates:
        start = c.first("leading")
        if start is None:
            continue
        stop = c.first("stopped_leading")
        intervals.append((start["t"], stop["t"] if stop else ends[c.identity], c.identity))
    intervals.sort()
    for (_, end, who), (begin, _, nxt) in zip(intervals, intervals[1:], strict=False):
        assert end <= begin, f"{who} and {nxt} led at the same time"


async def wait_leading(candidates: list[Candidate], within: float) -> Candidate:
    async with asyncio.timeout(within):
        while True:
            for c in candidates:
                if (
                    c.first("leading")
                    and not c.first("stopped_leading")
                    and c.proc.returncode is None
                ):
                    return c
            await asyncio.sleep(0.05)


async def test_failover_kill_and_sigterm(control_plane, record_property) -> None:
    async with cluster(control_plane) as (spawn, history, _name):
        a, b = await spawn("a"), await spawn("b")
        first = await wait_leading([a, b], 15)
        standby = b if first is a else a
        await asyncio.sleep(2 * LEASE)  # renewals keep the standby out
        assert leaders([a, b]) == [first.identity]
        assert standby.first("running") is not None  # per-node work runs on standbys

        # kill -9: no release, the standby waits for the lease to expire.
        killed_at = time.monotonic()
        first.proc.send_signal(signal.SIGKILL)
        assert await first.proc.wait() == -signal.SIGKILL
        second = await wait_leading([standby], LEASE + 2 * MAX_ACQUIRE_GAP + SLACK + 5)
        kill_failover = second.first("leading")["t"] - killed_at  # type: ignore[index]
        assert LEASE - RETRY - SLACK <= kill_failover <= LEASE + 2 * MAX_ACQUIRE_GAP + SLACK

        # SIGTERM: leader work stops, the lease is released, the standby takes it at once.
        c = await spawn("c")
        await asyncio.sleep(1)
        assert leaders([c]) == []
        termed_at = time.monotonic()
        second.proc.send_signal(signal.SIGTERM)
        third = await wait_leading([c], LEASE)
        term_failover = third.first("leading")["t"] - termed_at  # type: ignore[index]
        assert await second.proc.wait() == 0
        assert second.first("exit")["error"] is None  # type: ignore[index]
        assert term_failover <= MAX_ACQUIRE_GAP + SLACK < LEASE

        c.proc.send_signal(signal.SIGTERM)
        assert await c.proc.wait() == 0
        await asyncio.sleep(0.5)  # let the watch deliver the final release

    print(f"\nfailover after kill -9: {kill_failover:.2f}s, after SIGTERM: {term_failover:.2f}s")
    record_property("failover", {"kill9": kill_failover, "sigterm": term_failover})
    check_disjoint([first, second, third], ends={first.identity: killed_at})
    holders = [o.holder for o in history]
    changes = [h for i, h in enumerate(holders) if i == 0 or holders[i - 1] != h]
    assert changes == [first.identity, second.identity, "", "c", ""]
    check_history(history)
    assert history[-1].transitions == 2


async def test_stolen_lease_is_fatal(control_plane) -> None:
    async with cluster(control_plane) as (spawn, history, name):
        leader = await spawn("a")
        await leader.wait_for("leading", 15)
        stolen_at = time.monotonic()
        control_plane.kubectl(
            "patch", "lease", "-n", NAMESPACE, name, "--type=merge",
            "-p", json.dumps({"spec": {"holderIdentity": "thief", "leaseDurationSeconds": 60}}),
        )  # fmt: skip
        code = await asyncio.wait_for(leader.proc.wait(), RENEW + 2 * RETRY + SLACK + 5)
        assert code == 1
        stopped = await leader.wait_for("stopped_leading", 1)
        assert stopped["t"] - stolen_at <= RENEW + 2 * RETRY + SLACK
        assert "LeaderElectionLostError" in leader.first("exit")["error"]  # type: ignore[index]
        assert history[-1].holder == "thief"  # the loser did not release or overwrite
