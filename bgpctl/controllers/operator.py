"""Wiring of the cluster-wide controllers (``bgp operator``, or ``bgp run`` all-in-one).

Cluster-wide controllers write objects that belong to no single node, so exactly one
process may run them: they need leader election (Lease ``bgpctl-peering``, the same
Lease in both layouts, so an operator and all-in-one agents never both act). They are
the peering-policy controller, the clean-up after gone endpoints and the status
aggregator; each is rebuilt whenever its process wins the Lease (again).
"""

from __future__ import annotations

from bgpctl.controllers.goneendpoint import setup_gone_endpoints
from bgpctl.controllers.session import KubeWriter
from bgpctl.controllers.setup import prepare_cache, run_recorder, setup_peering_policy
from bgpctl.controllers.statusaggregate import setup_status_aggregator
from bgpctl.runtime.cache.informers import InformerCache
from bgpctl.runtime.controller import ControllerOptions
from bgpctl.runtime.manager import Manager
from bgpctl.runtime.recorder import EventRecorder
from bgpctl.runtime.runnable import Rebuilding, RunnableFunc


def setup_cluster_controllers(
    manager: Manager,
    *,
    cache: InformerCache,
    client: KubeWriter,
    recorder: EventRecorder,
    options: ControllerOptions | None = None,
) -> list[Rebuilding]:
    """Add every cluster-wide controller (leader-only) to ``manager``.

    ``cache`` must hold every session (``nodecache.cluster_cache``) and must already be
    prepared and added by the caller.
    """
    return [
        setup_peering_policy(
            manager, cache=cache, client=client, recorder=recorder, options=options
        ),
        setup_gone_endpoints(manager, cache=cache, client=client, options=options),
        *setup_status_aggregator(manager, cache=cache, client=client, options=options),
    ]


def setup_operator(
    manager: Manager,
    *,
    cache: InformerCache,
    client: KubeWriter,
    recorder: EventRecorder,
    options: ControllerOptions | None = None,
) -> list[Rebuilding]:
    """``bgp operator``: the cache, the recorder and every cluster-wide controller.

    The manager must run leader election for the controllers to start (only on the
    leader).
    """
    prepare_cache(cache)
    manager.add_cache(cache, name="informers")
    manager.add(RunnableFunc(lambda: run_recorder(recorder)), name="event-recorder")
    return setup_cluster_controllers(
        manager, cache=cache, client=client, recorder=recorder, options=options
    )
