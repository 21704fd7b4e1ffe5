"""LeaseLock: the leader election record in a ``coordination.k8s.io/v1`` Lease.

Mirrors client-go ``tools/leaderelection/resourcelock/leaselock.go``: ``get`` reads the
Lease and caches it, ``create`` creates it, ``update`` replaces the spec of the cached
Lease (so its resourceVersion makes the write conditional), ``record_event`` hands a
``LeaderElection`` Event about the Lease to an event recorder
(:class:`bgpctl.runtime.recorder.EventRecorder` fits by shape).
``LeaseSpecToLeaderElectionRecord`` and its inverse are :func:`record_from_lease_spec`
and :func:`lease_spec_from_record`.

The Lease travels as a plain ``dict`` through a
:class:`~bgpctl.runtime.client.kube.KubeClient` (resource type
:data:`~bgpctl.runtime.client.interfaces.LEASES`), which loads the kubeconfig or the
service account and raises :mod:`bgpctl.runtime.client.errors` exceptions; this module
imports neither kubernetes-asyncio nor aiohttp.

Deliberate differences:

* Upstream shares the manager's REST client unless told otherwise; ours uses its own
  ``KubeClient`` (``from_kubeconfig`` / ``in_cluster``), because renewals must not
  queue behind the controllers' traffic. As in upstream ``NewFromKubeconfig``, that
  client's request timeout is :func:`default_request_timeout` and it has a user agent
  of its own (:data:`USER_AGENT`).
* Times are written as RFC 3339 with microseconds and ``Z`` ourselves
  (``MicroTime``): the spec is sent as strings, never as ``datetime`` objects, which a
  serialiser would write with ``isoformat()`` (no fraction when it is zero, ``+00:00``).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any, Protocol

from bgpctl.runtime.client.interfaces import LEASES, KubeObject
from bgpctl.runtime.client.kube import KubeClient
from bgpctl.runtime.leaderelection.elector import DEFAULT_RENEW_DEADLINE
from bgpctl.runtime.leaderelection.record import LeaderElectionRecord

USER_AGENT = "bgpctl-leader-election"
"""User agent of the lock's own client (and so the field manager of its writes)."""


class EventSink(Protocol):
    """Queues an Event about an object without blocking (an ``EventRecorder``)."""

    def event(self, obj: dict[str, Any], event_type: str, reason: str, message: str) -> None:
        """Record an event of ``event_type`` about ``obj``."""
        ...


def default_request_timeout(renew_deadline: float = DEFAULT_RENEW_DEADLINE) -> float:
    """Per-request timeout for lease calls: ``max(renew_deadline / 2, 1)`` seconds."""
    return max(renew_deadline / 2, 1.0)


def _micro_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def record_from_lease_spec(spec: dict[str, Any] | None) -> LeaderElectionRecord:
    """The record held in a Lease ``spec`` (API field names); empty when there is none."""
    get = (spec or {}).get
    return LeaderElectionRecord(
        holder_identity=get("holderIdentity") or "",
        lease_duration_seconds=int(get("leaseDurationSeconds") or 0),
        acquire_time=_parse_time(get("acquireTime")),
        renew_time=_parse_time(get("renewTime")),
        lease_transitions=int(get("leaseTransitions") or 0),
    )


def lease_spec_from_record(record: LeaderElectionRecord) -> dict[str, Any]:
    """The ``spec`` of a Lease holding ``record``, in API field names."""
    return {
        "holderIdentity": record.holder_identity,
        "leaseDurationSeconds": record.lease_duration_seconds,
        "acquireTime": _micro_time(record.acquire_time),
        "renewTime": _micro_time(record.renew_time),
        "leaseTransitions": record.lease_transitions,
    }


class LeaseLock:
    """A :class:`~bgpctl.runtime.leaderelection.record.ResourceLock` over a Lease.

    Args:
        client: The API client the Lease is read and written through; its request
            timeout bounds every call (build it with :func:`default_request_timeout`).
            Closed by :meth:`close` only when this lock created it (the ``from_*``
            constructors).
        namespace: Namespace of the Lease.
        name: Name of the Lease.
        identity: This candidate's identity.
        event_recorder: Receives the leader election Events; None records none.
    """

    def __init__(
        self,
        client: KubeClient,
        *,
        namespace: str,
        name: str,
        identity: str,
        event_recorder: EventSink | None = None,
    ) -> None:
        self._client = client
        self._namespace = namespace
        self._name = name
        self._identity = identity
        self._event_recorder = event_recorder
        self._lease: KubeObject | None = None
        self._owns_client = False

    @classmethod
    async def from_kubeconfig(
        cls,
        path: str | os.PathLike[str],
        *,
        context: str | None = None,
        namespace: str,
        name: str,
        identity: str,
        request_timeout: float = default_request_timeout(),
        event_recorder: EventSink | None = None,
    ) -> LeaseLock:
        """A lock with its own API client from a kubeconfig (``context`` or the current one).

        ``request_timeout`` bounds each call of that client (see
        :func:`default_request_timeout`); the other arguments are as for the class.
        """
        client = await KubeClient.from_kubeconfig(
            path, context=context, request_timeout=request_timeout, user_agent=USER_AGENT
        )
        return cls._owning(
            client,
            namespace=namespace,
            name=name,
            identity=identity,
            event_recorder=event_recorder,
        )

    @classmethod
    def in_cluster(
        cls,
        *,
        namespace: str,
        name: str,
        identity: str,
        request_timeout: float = default_request_timeout(),
        event_recorder: EventSink | None = None,
    ) -> LeaseLock:
        """A lock with its own API client from the pod's service account.

        Arguments as for :meth:`from_kubeconfig`.
        """
        client = KubeClient.in_cluster(request_timeout=request_timeout, user_agent=USER_AGENT)
        return cls._owning(
            client,
            namespace=namespace,
            name=name,
            identity=identity,
            event_recorder=event_recorder,
        )

    @classmethod
    def _owning(
        cls,
        client: KubeClient,
        *,
        namespace: str,
        name: str,
        identity: str,
        event_recorder: EventSink | None,
    ) -> LeaseLock:
        lock = cls(
            client,
            namespace=namespace,
            name=name,
            identity=identity,
            event_recorder=event_recorder,
        )
        lock._owns_client = True
        return lock

    async def close(self) -> None:
        """Close the API client if this lock created it."""
        if self._owns_client:
            self._owns_client = False
            await self._client.close()

    async def __aenter__(self) -> LeaseLock:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def identity(self) -> str:
        """This candidate's identity."""
        return self._identity

    def describe(self) -> str:
        """``namespace/name`` of the Lease."""
        return f"{self._namespace}/{self._name}"

    async def get(self) -> LeaderElectionRecord:
        """Read the Lease and cache it; ``NotFound`` if it does not exist."""
        lease = await self._client.get(LEASES, self._name, namespace=self._namespace)
        self._lease = lease
        return record_from_lease_spec(lease.get("spec"))

    async def create(self, record: LeaderElectionRecord) -> None:
        """Create the Lease holding ``record``; ``AlreadyExists`` if it exists."""
        body: KubeObject = {
            "apiVersion": LEASES.api_version,
            "kind": LEASES.kind,
            "metadata": {"name": self._name, "namespace": self._namespace},
            "spec": lease_spec_from_record(record),
        }
        self._lease = await self._client.create(LEASES, body)

    async def update(self, record: LeaderElectionRecord) -> None:
        """Replace the cached Lease's spec; ``Conflict`` if the Lease changed since.

        Raises:
            RuntimeError: nothing cached yet (call :meth:`get` or :meth:`create`).
        """
        if self._lease is None:
            raise RuntimeError("lease not initialized, call get or create first")
        # The cached object as read, so its resourceVersion makes the write conditional.
        body: KubeObject = {**self._lease, "spec": lease_spec_from_record(record)}
        self._lease = await self._client.update(LEASES, body)

    def record_event(self, message: str) -> None:
        """Queue a Normal ``LeaderElection`` Event on the Lease: "<identity> <message>"."""
        if self._event_recorder is None or self._lease is None:
            return
        self._event_recorder.event(
            self._lease, "Normal", "LeaderElection", f"{self._identity} {message}"
        )
