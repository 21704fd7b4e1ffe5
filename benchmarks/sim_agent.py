"""One simulated node for ``bench_scale.py``: the real agent against an in-process fake GoBGP.

``python benchmarks/sim_agent.py ENDPOINT`` (``$KUBECONFIG`` set) starts the fake
gobgpd of ``bgpctl.testing.gobgp`` on a free loopback port and runs
``run_node_agent`` exactly as ``bgp run --no-cluster-controllers --no-fib`` does: the
real informers (field-selected sessions, slim endpoints), controllers, status writes
and Events; only GoBGP is a model (no BGP sessions, neighbors stay Idle). This is the
"lighter agent mode" of the scale simulation; its RSS includes the fake's gRPC server.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bgpctl.cli.run import RunOptions, run_node_agent  # noqa: E402
from bgpctl.gobgp.client import GoBGPClient  # noqa: E402
from bgpctl.log import configure  # noqa: E402
from bgpctl.testing.gobgp import FakeGoBGP  # noqa: E402


async def main(endpoint: str) -> None:
    fake = FakeGoBGP()
    await fake.start()
    options = RunOptions(
        local_endpoint=endpoint,
        kubeconfig=os.environ["KUBECONFIG"],
        gobgp_target=fake.target,
        metrics_addr="",
        health_addr="",
        cluster_controllers=False,
        fib=False,
    )
    try:
        await run_node_agent(options, gobgp=GoBGPClient(fake.target))
    finally:
        await fake.stop()


if __name__ == "__main__":
    configure(level="warning")
    asyncio.run(main(sys.argv[1]))
