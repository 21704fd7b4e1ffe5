"""Wiring of the cluster-wide controllers (``bgp operator``, or ``bgp run`` all-in-one).

Cluster-wide controllers write objects that belong to no single node, so exactly one
process may run them: they need leader election (Lease ``bgpctl-peering``, the same
Lease in both layouts, so an operator and all-in-one agents never both act). Today
that is the peering-policy controller.
"""

from __future__ import annotations

from bgpctl.controllers.session import KubeWriter
from bgpctl.controllers.setup import run_recorder, setup_peering_policy
from bgpctl.runtime.cache.informers import InformerCache
from bgpctl.runtime.controller import Controller, ControllerOptions
from bgpctl.runtime.manager import Manager
from bgpctl.runtime.recorder import EventRecorder
from bgpctl.runtime.runnable import RunnableFunc


def setup_operator(
    manager: Manager,
    *,
    cache: InformerCache,
    client: KubeWriter,
    recorder: EventRecorder,
    options: ControllerOptions | None = None,
) -> list[Controller]:
    """Add the cache, the recorder and every cluster-wide controller to ``manager``.

    ``cache`` must hold every session (``nodecache.cluster_cache``). The manager must
    run leader election for the controllers to start (only on the leader).
    """
    manager.add_cache(cache, name="informers")
    manager.add(RunnableFunc(lambda: run_recorder(recorder)), name="event-recorder")
    return [
        setup_peering_policy(
            manager, cache=cache, client=client, recorder=recorder, options=options
        )
    ]
