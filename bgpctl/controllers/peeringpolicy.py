"""PeeringPolicyReconciler: BGPPeeringPolicy -> the BGPSession objects it implies.

Runs only on the elected leader (``needs_leader_election``; Lease ``bgpctl-peering``),
never on a "designated" node (the Go original picked the alphabetically first
endpoint, which may have no agent at all).

1. The policy's ``selector`` is matched against the BGPEndpoints in the informer cache.
2. :func:`desired_sessions` (pure) computes the sessions: ``mesh`` — one per unordered
   pair, ``localEndpoint`` the smaller name; ``route-reflector`` — exactly one selected
   endpoint must match ``reflectorSelector`` (else ``Ready=False`` with reason
   ``NoReflector`` / ``MultipleReflectors``, a Warning Event, and no session is created,
   changed or deleted), one session per client with ``localEndpoint`` = reflector and
   ``routeReflector.clusterID``.
3. Missing sessions are created (in parallel, at most ``WRITE_CONCURRENCY`` requests in
   flight); owned sessions whose spec or policy label drifted are
   patched back (the original never corrected drift, e.g. a template change or
   a reflector swap); owned sessions no longer desired are deleted. "Owned" means a
   controller ownerReference with this policy's UID. A session that is not owned is
   never touched: a name clash is reported (``NameConflict``) and not adopted.
4. Status: server-side apply on the status subresource as ``bgpctl-peering``:
   ``matchedEndpoints``, ``activeSessions`` (owned sessions that exist, observed in the
   cache — not the desired count), ``observedGeneration`` and condition
   ``Ready``; skipped when nothing changed.

Triggers: policy spec changes, and its status changes (to re-check a status write
skipped against a cache that had not yet seen our previous one); any BGPEndpoint
create/delete or label change enqueues *every* policy (policies are few, and this sees
both old and new labels); owned-session changes and deletes enqueue the owning policy;
the create/delete of a session without a controller reference enqueues every policy (it
may clear or cause a ``NameConflict``).
No polling when nothing matches (the original polled every 5 s forever).

Session names: ``<policy>-<a>--<b>`` (``a`` < ``b``, endpoint names sorted) when that
is at most 253 characters and unique within the plan; otherwise
``<policy, cut to 100 chars>-<20 hex of SHA-256 over policy, a, b joined by NUL>``.
The policy label is set only when the policy name is a valid label value (≤ 63
chars; the original used the name as is, so a longer one failed every create); the
ownerReference always is.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

import structlog

from bgpctl.api.meta import Condition, find_condition, set_condition
from bgpctl.api.resource import API_VERSION
from bgpctl.api.v1alpha1 import BGP_PEERING_POLICY
from bgpctl.controllers.peeringplan import (
    Plan,
    SessionPlan,
    desired_sessions,
    is_label_value,
)
from bgpctl.controllers.resources import BGP_ENDPOINTS, BGP_PEERING_POLICIES, BGP_SESSIONS
from bgpctl.controllers.session import KubeWriter
from bgpctl.runtime.cache.informers import InformerCache
from bgpctl.runtime.client.errors import AlreadyExists, NotFound
from bgpctl.runtime.client.interfaces import PatchType, Preconditions
from bgpctl.runtime.event import UpdateEvent
from bgpctl.runtime.fanout import run_bounded
from bgpctl.runtime.reconcile import Request, Result
from bgpctl.runtime.recorder import EventRecorder

log = structlog.get_logger(__name__)

FIELD_MANAGER = "bgpctl-peering"
"""Field manager of every write of this controller."""
LEASE_NAME = "bgpctl-peering"
"""Lease the peering-policy leader holds."""
POLICY_LABEL = "bgp.miloapis.com/policy"
"""Label naming the policy on the sessions it creates (when the name fits a label)."""
POLICY_KIND = BGP_PEERING_POLICY.kind
WRITE_CONCURRENCY = 32
"""Session creates, patches and deletes one reconcile keeps in flight."""
# -- the reconciler --------------------------------------------------------------------


def controller_uid(obj: Mapping[str, Any]) -> str | None:
    """UID of the BGPPeeringPolicy that is ``obj``'s controller, if any."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("controller") and ref.get("kind") == POLICY_KIND:
            return str(ref.get("uid"))
    return None


def has_controller(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` has any controller reference."""
    refs = (obj.get("metadata") or {}).get("ownerReferences") or ()
    return any(ref.get("controller") for ref in refs)


def session_changed(event: UpdateEvent) -> bool:
    """Spec, labels, owner references or deletion changed (not status writes)."""
    old, new = event.old.get("metadata") or {}, event.new.get("metadata") or {}
    return any(
        old.get(k) != new.get(k)
        for k in ("generation", "labels", "ownerReferences", "deletionTimestamp")
    )


def policy_changed(event: UpdateEvent) -> bool:
    """Spec (generation) or status changed.

    The status write is skipped when the cached status already says the same, but the
    cache may not show our own last write yet; seeing that write arrive checks again, so
    a count computed before the write and a newer one never leave the older in place.
    """
    old, new = event.old.get("metadata") or {}, event.new.get("metadata") or {}
    return old.get("generation") != new.get("generation") or event.old.get(
        "status"
    ) != event.new.get("status")


class PeeringPolicyReconciler:
    """Materialises a policy's sessions; see the module docstring.

    Args:
        cache: Informer cache (policies, endpoints, sessions).
        client: Creates, patches and deletes sessions; applies the policy status.
        recorder: Warning Events about unsatisfiable policies and name conflicts.
    """

    def __init__(self, *, cache: InformerCache, client: KubeWriter, recorder: EventRecorder):
        self._cache = cache
        self._client = client
        self._recorder = recorder

    # -- map functions ------------------------------------------------------------------

    def map_all(self, _obj: dict[str, Any]) -> list[Request]:
        """Any event -> every policy (their number is small)."""
        return [
            Request(name=p["metadata"]["name"])
            for p in self._cache.get_informer(BGP_PEERING_POLICIES).indexer.list()
        ]

    def map_unowned_session(self, obj: dict[str, Any]) -> list[Request]:
        """A session without a controller may clash with a policy's name: every policy."""
        return [] if has_controller(obj) else self.map_all(obj)

    # -- reconcile ----------------------------------------------------------------------

    async def reconcile(self, request: Request) -> Result:
        """See the module docstring."""
        try:
            raw = await self._cache.get(BGP_PEERING_POLICIES, request.name)
        except NotFound:
            return Result()  # the garbage collector removes the owned sessions
        meta = raw["metadata"]
        if meta.get("deletionTimestamp"):
            return Result()
        name, uid = meta["name"], meta["uid"]
        policy = BGP_PEERING_POLICY.parse(raw)
        endpoints = {
            e["metadata"]["name"]: dict(e["metadata"].get("labels") or {})
            for e in (await self._cache.list(BGP_ENDPOINTS)).items
        }
        plan = desired_sessions(name, policy.spec, endpoints)
        existing = {s["metadata"]["name"]: s for s in (await self._cache.list(BGP_SESSIONS)).items}
        owned = {n for n, s in existing.items() if controller_uid(s) == uid}
        if plan.reason is not None:
            self._recorder.warning(raw, plan.reason, plan.message)
            await self._report(raw, plan, len(owned), "False", plan.reason, plan.message)
            return Result()

        desired = {s.name: s for s in plan.sessions}
        conflicts: list[str] = []
        writes: list[Callable[[], Awaitable[None]]] = []
        for session in plan.sessions:
            current = existing.get(session.name)
            if current is None:
                writes.append(functools.partial(self._create, raw, session))
            elif session.name not in owned:
                conflicts.append(session.name)
            elif current["metadata"].get("deletionTimestamp"):
                continue  # recreated once the delete completes (owner watch)
            elif session.drifted(current.get("spec") or {}) or self._labels_drifted(name, current):
                writes.append(functools.partial(self._update, name, current, session))
        for stale in sorted(owned - desired.keys()):
            writes.append(functools.partial(self._delete, existing[stale]))
        # Independent objects: written in parallel, bounded (the client's flow control
        # slows everything down when the server answers 429).
        await run_bounded(writes, limit=WRITE_CONCURRENCY)

        if conflicts:
            message = (
                f"sessions exist that this policy does not own: {', '.join(conflicts)}; "
                "they are left alone"
            )
            self._recorder.warning(raw, "NameConflict", message)
            await self._report(raw, plan, len(owned), "False", "NameConflict", message)
        else:
            message = (
                f"{len(plan.sessions)} sessions between {len(plan.matched)} endpoints "
                f"({policy.spec.mode})"
            )
            await self._report(raw, plan, len(owned), "True", "Reconciled", message)
        return Result()

    # -- writes -------------------------------------------------------------------------

    @staticmethod
    def _labels(policy: str) -> dict[str, str]:
        return {POLICY_LABEL: policy} if is_label_value(policy) else {}

    def _labels_drifted(self, policy: str, current: dict[str, Any]) -> bool:
        labels = current["metadata"].get("labels") or {}
        return any(labels.get(k) != v for k, v in self._labels(policy).items())

    async def _create(self, policy: dict[str, Any], session: SessionPlan) -> None:
        meta = policy["metadata"]
        body: dict[str, Any] = {
            "apiVersion": API_VERSION,
            "kind": "BGPSession",
            "metadata": {
                "name": session.name,
                "ownerReferences": [
                    {
                        "apiVersion": API_VERSION,
                        "kind": POLICY_KIND,
                        "name": meta["name"],
                        "uid": meta["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": session.spec(),
        }
        if labels := self._labels(meta["name"]):
            body["metadata"]["labels"] = labels
        try:
            await self._client.create(BGP_SESSIONS, body)
        except AlreadyExists:
            # Not in our cache yet: ours (the watch re-triggers) or someone else's
            # (reported as a NameConflict once the cache has it).
            return
        log.info("session created", policy=meta["name"], session=session.name)

    async def _update(self, policy: str, current: dict[str, Any], session: SessionPlan) -> None:
        spec = session.spec()
        patch: dict[str, Any] = {
            "metadata": {
                "resourceVersion": current["metadata"]["resourceVersion"],
                "labels": self._labels(policy) or None,
            },
            "spec": {
                **spec,
                "holdTime": spec.get("holdTime"),  # None removes: the CRD default applies
                "keepaliveTime": spec.get("keepaliveTime"),
                "routeReflector": spec.get("routeReflector"),
            },
        }
        if patch["metadata"]["labels"] is None:
            del patch["metadata"]["labels"]
        try:
            # resourceVersion makes the patch conditional: a concurrent change (or a
            # delete and re-create by someone else) is a Conflict and a retry.
            await self._client.patch(
                BGP_SESSIONS,
                session.name,
                patch,
                patch_type=PatchType.MERGE,
                field_manager=FIELD_MANAGER,
            )
        except NotFound:
            return
        log.info("session updated", policy=policy, session=session.name)

    async def _delete(self, session: dict[str, Any]) -> None:
        meta = session["metadata"]
        if meta.get("deletionTimestamp"):
            return
        try:
            # The UID precondition makes sure the object we judged owned is the one deleted.
            await self._client.delete(
                BGP_SESSIONS, meta["name"], preconditions=Preconditions(uid=meta["uid"])
            )
        except NotFound:
            return
        log.info("session deleted", session=meta["name"])

    async def _report(
        self,
        raw: dict[str, Any],
        plan: Plan,
        active: int,
        status: Literal["True", "False"],
        reason: str,
        message: str,
    ) -> None:
        current = raw.get("status") or {}
        generation = int(raw["metadata"].get("generation") or 0)
        conditions = [Condition.model_validate(c) for c in current.get("conditions") or []]
        previous = find_condition(conditions, "Ready")
        if (
            current.get("matchedEndpoints") == len(plan.matched)
            and current.get("activeSessions") == active
            and current.get("observedGeneration") == generation
            and previous is not None
            and (previous.status, previous.reason, previous.message, previous.observed_generation)
            == (status, reason, message, generation)
        ):
            return  # no-op writes would only churn resourceVersions
        ready = find_condition(
            set_condition(
                conditions,
                type="Ready",
                status=status,
                reason=reason,
                message=message[:32768],
                observed_generation=generation,
            ),
            "Ready",
        )
        assert ready is not None
        body = {
            "apiVersion": raw["apiVersion"],
            "kind": raw["kind"],
            "metadata": {"name": raw["metadata"]["name"]},
            "status": {
                "matchedEndpoints": len(plan.matched),
                "activeSessions": active,
                "observedGeneration": generation,
                "conditions": [ready.to_dict()],
            },
        }
        try:
            await self._client.status().apply(
                BGP_PEERING_POLICIES, body, field_manager=FIELD_MANAGER, force=True
            )
        except NotFound:
            return
