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
from bgpctl.controllers.advertisement import AdvertisementReconciler
from bgpctl.controllers.configuration import ConfigurationReconciler
from bgpctl.controllers.fibsync_runner import FibOptions, FibSync
from bgpctl.controllers.gobgppolicy import Assignments
from bgpctl.controllers.gobgpwatch import GenerationWatcher
from bgpctl.controllers.nodestatus import current_entry
from bgpctl.controllers.nodewide import NodeContext
from bgpctl.controllers.peeringpolicy import (
    POLICY_KIND,
    PeeringPolicyReconciler,
    policy_changed,
    session_changed,
)
from bgpctl.controllers.resources import (
    ALL_RESOURCES,
    BGP_ADVERTISEMENTS,
    BGP_CONFIGURATIONS,
    BGP_ENDPOINTS,
    BGP_PEERING_POLICIES,
    BGP_ROUTE_POLICIES,
    BGP_SESSIONS,
    CONFIGURATION_NAME,
)
from bgpctl.controllers.routepolicy import RoutePolicyReconciler
from bgpctl.controllers.routepolicyplan import PART as ROUTE_POLICY_PART
from bgpctl.controllers.session import KubeWriter, PeerEventWatcher, SessionReconciler
from bgpctl.controllers.sessionpeer import (
    ADDRESS_INDEX,
    ENDPOINT_INDEX,
    address_index,
    endpoint_index,
)
from bgpctl.controllers.sessionstatus import SessionStatusPoller
from bgpctl.gobgp.client import GoBGPClient
from bgpctl.runtime.builder import Builder
from bgpctl.runtime.cache.informers import InformerCache
from bgpctl.runtime.client.interfaces import ResourceType
from bgpctl.runtime.controller import Controller, ControllerOptions
from bgpctl.runtime.event import UpdateEvent
from bgpctl.runtime.handler import enqueue_for_object, enqueue_from_map_func
from bgpctl.runtime.healthz import from_predicate
from bgpctl.runtime.manager import Manager
from bgpctl.runtime.predicate import Funcs, generation_changed, labels_changed
from bgpctl.runtime.reconcile import Reconciler, Request
from bgpctl.runtime.recorder import EventRecorder
from bgpctl.runtime.runnable import Rebuilding, RunnableFunc
from bgpctl.runtime.source import Channel

SESSION_WORKERS = 16
"""Sessions one agent reconciles at once."""


@dataclass(frozen=True, slots=True)
class NodeAgent:
    """What :func:`setup_node_agent` added to the manager."""

    configuration: Controller
    session: Controller
    generation_watcher: GenerationWatcher
    peer_events: PeerEventWatcher
    advertisement: Controller
    route_policy: Controller
    sessions: SessionReconciler


def _spec_or_deletion_changed(event: UpdateEvent) -> bool:
    old, new = event.old.get("metadata") or {}, event.new.get("metadata") or {}
    return old.get("generation") != new.get("generation") or old.get(
        "deletionTimestamp"
    ) != new.get("deletionTimestamp")


def _node_wide(
    name: str,
    rt: ResourceType,
    node: NodeContext,
    reconciler: Reconciler,
    resync: Channel,
    options: ControllerOptions,
) -> Controller:
    """A node-wide controller: any change of ``rt``, endpoints or sessions -> the node.

    Endpoints and sessions decide the node's neighbors, which selectors resolve to.
    """
    cache = node.cache
    to_node = enqueue_from_map_func(lambda _: [node.request()])
    neighbors_changed = Funcs(on_update=_spec_labels_or_deletion_changed)
    me = node.local_endpoint

    def spec_or_own_entry_changed(event: UpdateEvent) -> bool:
        # The node's own entry arriving re-checks it: a write skipped against a cache
        # that had not yet seen the node's previous write must not leave that one.
        old, new = event.old, event.new
        return (old.get("metadata") or {}).get("generation") != (new.get("metadata") or {}).get(
            "generation"
        ) or current_entry(old, me) != current_entry(new, me)

    return (
        Builder(name)
        .watches(cache.get_informer(rt), to_node, Funcs(on_update=spec_or_own_entry_changed))
        .watches(cache.get_informer(BGP_ENDPOINTS), to_node, neighbors_changed)
        .watches(cache.get_informer(BGP_SESSIONS), to_node, neighbors_changed)
        .watches_raw_source(resync)
        .with_options(options)
        .complete(reconciler)
    )


def _spec_labels_or_deletion_changed(event: UpdateEvent) -> bool:
    old, new = event.old.get("metadata") or {}, event.new.get("metadata") or {}
    return _spec_or_deletion_changed(event) or old.get("labels") != new.get("labels")


def prepare_cache(cache: InformerCache) -> None:
    """Create the informers of all six kinds (so the manager waits for them) and indexes."""
    for rt in ALL_RESOURCES:
        cache.get_informer(rt)
    cache.add_indexers(BGP_SESSIONS, {ENDPOINT_INDEX: endpoint_index})
    cache.add_indexers(BGP_ENDPOINTS, {ADDRESS_INDEX: address_index})


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
    manager.add(RunnableFunc(lambda: run_recorder(recorder)), name="event-recorder")

    config_resync = Channel(enqueue_from_map_func(lambda _: [Request(name=CONFIGURATION_NAME)]))
    session_resync = Channel(enqueue_from_map_func(lambda _: []))  # handler set below
    node_key = [Request(name=local_endpoint)]
    advert_resync = Channel(enqueue_from_map_func(lambda _: node_key))
    policy_resync = Channel(enqueue_from_map_func(lambda _: node_key))
    sessions = SessionReconciler(
        cache=cache, client=client, gobgp=gobgp, recorder=recorder, local_endpoint=local_endpoint
    )
    watcher = GenerationWatcher(
        gobgp,
        [config_resync, policy_resync, advert_resync, session_resync],
        sweeps=[sessions.sweep_orphans],
    )
    session_resync.handler = enqueue_from_map_func(sessions.map_all)
    # Route policies first, then advertisements: both own a part of GoBGP's global
    # assignments, advertisement restrictions ahead of route policies.
    assignments = Assignments(order=("adv", ROUTE_POLICY_PART))
    node = NodeContext(cache, client, gobgp, recorder, local_endpoint, assignments)
    adverts = AdvertisementReconciler(node)
    route_policies = RoutePolicyReconciler(node, reannounced=adverts.reannounced)

    def on_started() -> None:
        # StartBgp leaves GoBGP without policies, paths or neighbors: restore all three.
        adverts.mark_stale()
        policy_resync.trigger()
        advert_resync.trigger()
        session_resync.trigger()

    configuration = ConfigurationReconciler(
        cache=cache,
        client=client,
        gobgp=gobgp,
        recorder=recorder,
        local_endpoint=local_endpoint,
        on_started=on_started,
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
        .watches(  # a neighbor's owner changed or went away: the losers look again
            cache.get_informer(BGP_SESSIONS),
            enqueue_from_map_func(sessions.map_conflicted),
            Funcs(on_create=lambda _: False, on_update=_spec_or_deletion_changed),
        )
        .watches_raw_source(session_resync)
        .watches_raw_source(peer_events)
        # Sessions are independent: a reflector configures its 1,000 neighbors in parallel.
        .with_options(dataclasses.replace(options, max_concurrent_reconciles=SESSION_WORKERS))
        .complete(sessions)
    )
    peer_watcher = PeerEventWatcher(gobgp, sessions, peer_events)
    advert_controller = _node_wide(
        "bgpadvertisement", BGP_ADVERTISEMENTS, node, adverts, advert_resync, options
    )
    policy_controller = _node_wide(
        "bgproutepolicy", BGP_ROUTE_POLICIES, node, route_policies, policy_resync, options
    )
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
    manager.add(policy_controller)
    manager.add(advert_controller)
    manager.add(session_controller)
    manager.add(watcher)
    manager.add(peer_watcher)
    return NodeAgent(
        config_controller,
        session_controller,
        watcher,
        peer_watcher,
        advert_controller,
        policy_controller,
        sessions,
    )


async def run_recorder(recorder: EventRecorder) -> None:
    """Run ``recorder`` (a runnable's body) until cancelled."""
    async with recorder:
        await asyncio.get_running_loop().create_future()


def setup_fib_sync(
    manager: Manager,
    *,
    gobgp: GoBGPClient,
    options: FibOptions | None = None,
    agent: NodeAgent | None = None,
) -> FibSync:
    """Add the per-node FIB sync (GoBGP best paths -> kernel routes) to ``manager``.

    With ``agent``, stale routes after a resubscription are removed as soon as the
    neighbors its session reconciler configured are back with End-of-RIB.

    Raises:
        ValueError: invalid protocol or exclusions in ``options``.
    """
    expected = agent.sessions.expected_peers if agent is not None else tuple
    fib = FibSync(gobgp, options, expected_peers=expected)
    manager.add(fib)
    return fib


def setup_peering_policy(
    manager: Manager,
    *,
    cache: InformerCache,
    client: KubeWriter,
    recorder: EventRecorder,
    options: ControllerOptions | None = None,
) -> Rebuilding:
    """Add the leader-only peering-policy controller to ``manager``.

    The cache must have been prepared (:func:`prepare_cache`) and added, and the recorder
    run, by the caller (``setup_node_agent`` does both). The manager must run leader
    election (Lease ``bgpctl-peering``) for the controller to be started only on the leader.
    A fresh controller is built on every start, so a manager that survives a lost lease
    can run it again when it wins the lease back.
    """
    base = options or ControllerOptions()
    options = dataclasses.replace(base, needs_leader_election=True)

    def build() -> Controller:
        policies = PeeringPolicyReconciler(cache=cache, client=client, recorder=recorder)
        return (
            Builder("bgppeeringpolicy")
            .for_(cache.get_informer(BGP_PEERING_POLICIES), Funcs(on_update=policy_changed))
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

    runnable = Rebuilding(build, name="bgppeeringpolicy")
    manager.add(runnable)
    return runnable
