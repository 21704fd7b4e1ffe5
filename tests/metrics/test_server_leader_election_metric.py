"""leader_election_master_status as served on /metrics, driven by a real elector.

An in-memory lease (virtual time would not mix with the socket, so durations are
real but the lease is short) and a private registry; the gauge is read back over HTTP.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from bgpctl.metrics.leaderelection import PrometheusLeaderElectionMetrics
from bgpctl.metrics.registry import new_registry
from bgpctl.metrics.server import ProbeServer
from bgpctl.runtime.leaderelection import LeaderCallbacks, LeaderElectionConfig, LeaderElector
from bgpctl.testing.leaselock import InMemoryLeaseServer

pytestmark = pytest.mark.timeout(30)


async def scrape(port: int) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        return await response.text()


async def test_gauge_follows_leadership() -> None:
    registry = new_registry(process_collectors=False)
    metric = PrometheusLeaderElectionMetrics(registry)
    lease = InMemoryLeaseServer()
    leading = asyncio.Event()

    async def lead() -> None:
        leading.set()

    elector = LeaderElector(
        LeaderElectionConfig(
            lock=lease.lock("me"),
            callbacks=LeaderCallbacks(on_started_leading=lead, on_stopped_leading=lambda: None),
            lease_duration=2,
            renew_deadline=1.5,
            retry_period=0.2,
            release_on_cancel=True,
            name="bgpctl-leader",
            metrics=metric,
        )
    )
    server = ProbeServer(host="127.0.0.1", registry=registry)
    serving = asyncio.create_task(server.start())
    _, port = await server.wait_serving()
    election = asyncio.create_task(elector.run())
    try:
        await asyncio.wait_for(leading.wait(), 5)
        assert 'leader_election_master_status{name="bgpctl-leader"} 1.0' in await scrape(port)
        election.cancel()
        await asyncio.wait([election])
        assert 'leader_election_master_status{name="bgpctl-leader"} 0.0' in await scrape(port)
    finally:
        for task in (election, serving):
            task.cancel()
        await asyncio.wait([election, serving])


async def test_a_second_instance_on_one_registry_is_refused() -> None:
    registry = new_registry(process_collectors=False)
    PrometheusLeaderElectionMetrics(registry)
    with pytest.raises(ValueError, match="Duplicated"):
        PrometheusLeaderElectionMetrics(registry)
