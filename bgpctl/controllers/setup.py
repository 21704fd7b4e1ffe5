"""Wiring of the controllers into a manager (used by ``bgp run`` and tests).

Per-node controllers need no leader election: each node's agent acts only on its own
GoBGP and writes only its own status entries. The peering-policy controller writes
cluster-wide objects and runs only on the elected leader (:func:`setup_peering_policy`).
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass

from bgpctl.api.resource import GROUP
from bgpctl.controllers.configuration import ConfigurationReconciler
from bgpctl.controllers.fibsync_runner import FibOptions, FibSync
from bgpctl.controllers.gobgpwatch import GenerationWatcher
from bgpctl.controllers.peeringpolicy import POLICY_KIND, PeeringPolicyReconciler, session_changed
from bgpctl.controllers.resources import (
    ALL_RESOURCES,
    BGP_CONFIGURATIONS,
    BGP_ENDPOINTS,
    BGP_PEERING_POLICIES,
    BGP_SESSIONS,
    CONFIGURATION_NAME,
)
from bgpctl.controllers.session import KubeWriter, PeerEventWatcher, SessionReconciler
from bgpctl.controllers.sessionpeer import ENDPOINT_INDEX, endpoint_index
from bgpctl.controllers.sessionstatus import SessionStatusPoller
from bgpctl.gobgp.client import GoBGPClient
from bgpctl.runtime.builder import Builder
from bgpctl.runtime.cache.informers import InformerCache
from bgpctl.runtime.controller import Controller, ControllerOptions
from bgpctl.runtime.event import UpdateEvent
from bgpctl.runtime.handler import enqueue_for_object, enqueue_from_map_func
from bgpctl.runtime.healthz import from_predicate
from bgpctl.runtime.manager import Manager
from bgpctl.runtime.predicate import Funcs, generation_changed, labels_changed
from bgpctl.runtime.reconcile import Request
from bgpctl.runtime.recorder import EventRecorder
from bgpctl.runtime.runnable import RunnableFunc
from bgpctl.runtime.source import Channel


@dataclass(frozen=True, slots=True)
class NodeAgent:
    """What :func:`setup_node_agent` added to the manager."""

    configuration: Controller
    session: Controller
    generation_watcher: GenerationWatcher
    peer_events: PeerEventWatcher


def _spec_or_deletion_changed(event: UpdateEvent) -> bool:
    old, new = event.old.get("metadata") or {}, event.new.get("metadata") or {}
    return old.get("generation") != new.get("generation") or old.get(
        "deletionTimestamp"
    ) != new.get("deletionTimestamp")


def prepare_cache(cache: InformerCache) -> None:
    """Create the informers of all six kinds (so the manager waits for them) and indexes."""
    for rt in ALL_RESOURCES:
        cache.get_informer(rt)
    cache.add_indexers(BGP_SESSIONS, {ENDPOINT_INDEX: endpoint_index})


def setup_node_agent(
    manager: Manager,
    *,
    cache: InformerCache,
    client: KubeWriter,
    gobgp: GoBGPClient,
    recorder: EventRecorder,
    local_endpoint: str,
    options: ControllerOptions | None = None,
) -> NodeAgent:
    """Add the cache, the recorder and the per-node controllers to ``manager``.

    ``gobgp`` must be connected (or connecting) while the manager runs; the caller owns it.
    """
    options = options or ControllerOptions()
    prepare_cache(cache)
    manager.add_cache(cache, name="informers")
    manager.add(RunnableFunc(lambda: _run_recorder(recorder)), name="event-recorder")

    config_resync = Channel(enqueue_from_map_func(lambda _: [Request(name=CONFIGURATION_NAME)]))
    session_resync = Channel(enqueue_from_map_func(lambda _: []))  # handler set below
    watcher = GenerationWatcher(gobgp, [config_resync, session_resync])

    sessions = SessionReconciler(
        cache=cache, client=client, gobgp=gobgp, recorder=recorder, local_endpoint=local_endpoint
    )
    session_resync.handler = enqueue_from_map_func(sessions.map_all)
    configuration = ConfigurationReconciler(
        cache=cache,
        client=client,
        gobgp=gobgp,
        recorder=recorder,
        local_endpoint=local_endpoint,
        on_started=session_resync.trigger,
    )

    config_controller = (
        Builder("bgpconfiguration")
        .for_(cache.get_informer(BGP_CONFIGURATIONS), generation_changed())
        .watches(
            cache.get_informer(BGP_ENDPOINTS),
            enqueue_from_map_func(configuration.map_endpoint),
            generation_changed(),
        )
        .watches_raw_source(config_resync)
        .with_options(options)
        .complete(configuration)
    )
    peer_events = Channel(enqueue_for_object())
    session_controller = (
        Builder("bgpsession")
        .for_(cache.get_informer(BGP_SESSIONS), Funcs(on_update=_spec_or_deletion_changed))
        .watches(
            cache.get_informer(BGP_ENDPOINTS),
            enqueue_from_map_func(sessions.map_endpoint),
            generation_changed(),
        )
        .watches(
            cache.get_informer(BGP_CONFIGURATIONS),
            enqueue_from_map_func(sessions.map_all),
            generation_changed(),
        )
        .watches_raw_source(session_resync)
        .watches_raw_source(peer_events)
        .with_options(options)
        .complete(sessions)
    )
    peer_watcher = PeerEventWatcher(gobgp, sessions, peer_events)
    manager.add(
        SessionStatusPoller(
            gobgp=gobgp,
            cache=cache,
            reporter=sessions.status,
            recorder=recorder,
            local_endpoint=local_endpoint,
        )
    )
    manager.add_readyz_check(
        "gobgp", from_predicate(lambda: gobgp.connected, f"gobgpd at {gobgp.target} is unreachable")
    )
    manager.add(config_controller)
    manager.add(session_controller)
    manager.add(watcher)
    manager.add(peer_watcher)
    return NodeAgent(config_controller, session_controller, watcher, peer_watcher)


async def _run_recorder(recorder: EventRecorder) -> None:
    async with recorder:
        await asyncio.get_running_loop().create_future()


def setup_fib_sync(
    manager: Manager, *, gobgp: GoBGPClient, options: FibOptions | None = None
) -> FibSync:
    """Add the per-node FIB sync (GoBGP best paths -> kernel routes) to ``manager``.

    Raises:
        ValueError: invalid protocol or exclusions in ``options``.
    """
    fib = FibSync(gobgp, options)
    manager.add(fib)
    return fib


def setup_peering_policy(
    manager: Manager,
    *,
    cache: InformerCache,
    client: KubeWriter,
    recorder: EventRecorder,
    options: ControllerOptions | None = None,
) -> Controller:
    """Add the leader-only peering-policy controller to ``manager``.

    The cache must have been prepared (:func:`prepare_cache`) and added, and the recorder
    run, by the caller (``setup_node_agent`` does both). The manager must run leader
    election (Lease ``bgpctl-peering``) for the controller to be started only on the leader.
    """
    base = options or ControllerOptions()
    options = dataclasses.replace(base, needs_leader_election=True)
    policies = PeeringPolicyReconciler(cache=cache, client=client, recorder=recorder)
    controller = (
        Builder("bgppeeringpolicy")
        .for_(cache.get_informer(BGP_PEERING_POLICIES), generation_changed())
        .watches(
            cache.get_informer(BGP_ENDPOINTS),
            enqueue_from_map_func(policies.map_all),
            labels_changed(),
        )
        .owns(
            cache.get_informer(BGP_SESSIONS),
            POLICY_KIND,
            Funcs(on_update=session_changed),
            owner_group=GROUP,
        )
        .watches(
            cache.get_informer(BGP_SESSIONS),
            enqueue_from_map_func(policies.map_unowned_session),
            Funcs(on_update=lambda _: False),
        )
        .with_options(options)
        .complete(policies)
    )
    manager.add(controller)
    return controller
