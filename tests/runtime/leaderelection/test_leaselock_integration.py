"""LeaseLock and LeaderElector against the real kube-apiserver (controller identity).

Covers the Lease mapping on the wire (every field, MicroTime precision), the
optimistic concurrency the elector relies on (stale update -> Conflict, second create
-> AlreadyExists), that the project's RBAC allows everything the lock does (the
controller kubeconfig has no rights of its own), Events, and two in-process electors
racing on one Lease. Events go through the project's EventRecorder. Failover between
processes is in test_failover_integration.py.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bgpctl.runtime.client.errors import AlreadyExists, Conflict, NotFound
from bgpctl.runtime.client.kube import KubeClient
from bgpctl.runtime.leaderelection import (
    LeaderCallbacks,
    LeaderElectionConfig,
    LeaderElectionRecord,
    LeaderElector,
)
from bgpctl.runtime.leaderelection.leaselock import LeaseLock
from bgpctl.runtime.recorder import EventRecorder
from bgpctl.testing.rbac import grant_lease

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
NAMESPACE = "bgp-system"


def lease_name() -> str:
    return f"le-{uuid.uuid4().hex[:8]}"


async def open_lock(
    control_plane, name: str, identity: str, recorder: EventRecorder | None = None
) -> LeaseLock:
    return await LeaseLock.from_kubeconfig(
        control_plane.controller_kubeconfig,
        namespace=NAMESPACE,
        name=name,
        identity=identity,
        request_timeout=5.0,
        event_recorder=recorder,
    )


async def test_lock_operations_on_a_real_lease(control_plane) -> None:
    name = lease_name()
    grant_lease(control_plane, NAMESPACE, name)
    client = await KubeClient.from_kubeconfig(control_plane.controller_kubeconfig)
    recorder = EventRecorder(client, component="bgpctl")
    first = await open_lock(control_plane, name, "first", recorder)
    second = await open_lock(control_plane, name, "second")
    async with client, recorder, first, second:
        with pytest.raises(NotFound):
            await first.get()
        stamp = datetime.now(UTC).replace(microsecond=0)  # a zero fraction must survive too
        record = LeaderElectionRecord("first", 4, stamp, stamp, 0)
        await first.create(record)
        assert await first.get() == record
        assert await second.get() == record
        renewed = LeaderElectionRecord("first", 4, stamp, stamp + timedelta(microseconds=1), 0)
        await first.update(renewed)
        with pytest.raises(Conflict):
            await second.update(LeaderElectionRecord("second", 4, stamp, stamp, 1))
        with pytest.raises(AlreadyExists):
            await second.create(record)
        assert await second.get() == renewed
        first.record_event("became leader")
        second.record_event("is ignored: no recorder")
    lease = json.loads(
        control_plane.kubectl("get", "lease", "-n", NAMESPACE, name, "-o", "json").stdout
    )
    assert lease["spec"]["holderIdentity"] == "first"
    assert lease["spec"]["renewTime"].endswith(".000001Z")
    events = json.loads(
        control_plane.kubectl(
            "get", "events", "-n", NAMESPACE,
            f"--field-selector=involvedObject.name={name}", "-o", "json",
        ).stdout
    )["items"]  # fmt: skip
    assert [(e["reason"], e["message"]) for e in events] == [
        ("LeaderElection", "first became leader")
    ]


async def test_two_electors_on_one_lease(control_plane) -> None:
    """One leads, the other stands by; a release hands over at the standby's next try."""
    name = lease_name()
    grant_lease(control_plane, NAMESPACE, name)
    leading: dict[str, asyncio.Event] = {"a": asyncio.Event(), "b": asyncio.Event()}

    def elector(lock: LeaseLock) -> LeaderElector:
        async def lead() -> None:
            leading[lock.identity].set()

        return LeaderElector(
            LeaderElectionConfig(
                lock=lock,
                callbacks=LeaderCallbacks(on_started_leading=lead, on_stopped_leading=lambda: None),
                lease_duration=4,
                renew_deadline=3,
                retry_period=0.5,
                release_on_cancel=True,
                name=name,
            )
        )

    lock_a, lock_b = (
        await open_lock(control_plane, name, "a"),
        await open_lock(control_plane, name, "b"),
    )
    async with lock_a, lock_b:
        a = asyncio.create_task(elector(lock_a).run())
        await asyncio.wait_for(leading["a"].wait(), 10)
        b_elector = elector(lock_b)
        b = asyncio.create_task(b_elector.run())
        await asyncio.sleep(5)  # more than a lease: a keeps renewing, b must stay standby
        assert not leading["b"].is_set()
        assert b_elector.get_leader() == "a"
        a.cancel()
        await asyncio.wait([a])
        released = asyncio.get_running_loop().time()
        await asyncio.wait_for(leading["b"].wait(), 10)
        assert asyncio.get_running_loop().time() - released < 2
        b.cancel()
        await asyncio.wait([b])
    spec = json.loads(
        control_plane.kubectl("get", "lease", "-n", NAMESPACE, name, "-o", "json").stdout
    )["spec"]
    assert spec["holderIdentity"] == "" and spec["leaseTransitions"] == 1
