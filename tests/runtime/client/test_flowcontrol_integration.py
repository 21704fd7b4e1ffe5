"""Flow control against a real kube-apiserver that refuses requests with 429.

The server runs without API Priority and Fairness and with one mutating request in
flight (``--max-mutating-requests-inflight=1``): concurrent writes beyond that are
answered 429 with ``Retry-After: 1`` (except for ``system:masters``, so the client
uses the controller's identity). A burst of creates through one client must all
succeed, and the client must have lowered its concurrency instead of hammering.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bgpctl.envtest import ControlPlane
from bgpctl.runtime.client.flowcontrol import DEFAULT_MAX_INFLIGHT
from bgpctl.runtime.client.interfaces import ResourceType
from bgpctl.runtime.client.kube import KubeClient
from bgpctl.runtime.fanout import run_bounded

pytestmark = pytest.mark.integration

SESSIONS = ResourceType(
    "bgp.miloapis.com", "v1alpha1", "bgpsessions", "BGPSession", namespaced=False
)


async def test_burst_of_writes_survives_429s_and_lowers_the_limit(
    control_plane_factory: Callable[..., ControlPlane],
) -> None:
    plane = control_plane_factory(
        ["--enable-priority-and-fairness=false", "--max-mutating-requests-inflight=1"]
    )
    async with await KubeClient.from_kubeconfig(plane.controller_kubeconfig) as kube:

        def create(i: int) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                await kube.create(
                    SESSIONS,
                    {
                        "apiVersion": SESSIONS.api_version,
                        "kind": SESSIONS.kind,
                        "metadata": {"name": f"burst-{i}"},
                        "spec": {"localEndpoint": "a", "remoteEndpoint": f"b{i}"},
                    },
                )

            return run

        await run_bounded([create(i) for i in range(40)], limit=32)
        assert len((await kube.list(SESSIONS)).items) == 40
        assert kube.flow_control.limit < DEFAULT_MAX_INFLIGHT
        assert kube.flow_control.inflight == 0
