"""LeaseLock: the leader election record in a ``coordination.k8s.io/v1`` Lease.

Mirrors client-go ``tools/leaderelection/resourcelock/leaselock.go``: ``get`` reads the
Lease and caches it, ``create`` creates it, ``update`` replaces the spec of the cached
Lease (so its resourceVersion makes the write conditional), ``record_event`` hands a
``LeaderElection`` Event about the Lease to an event recorder
(:class:`bgpctl.runtime.recorder.EventRecorder` fits by shape).
``LeaseSpecToLeaderElectionRecord`` and its inverse are :func:`record_from_lease_spec`
and :func:`lease_spec_from_record`.

One of the two modules allowed to import kubernetes-asyncio. Its exceptions are mapped
onto :mod:`bgpctl.runtime.client.errors` at this boundary; nothing else leaks.

Deliberate differences:

* Upstream shares the manager's REST client unless told otherwise; ours uses its own
  ``ApiClient`` (``from_kubeconfig`` / ``in_cluster``), because renewals must not
  queue behind the controllers' traffic.
* Times are written as RFC 3339 with microseconds and ``Z`` ourselves
  (``MicroTime``), because kubernetes-asyncio's ``isoformat()`` drops the fraction
  when it is zero and writes ``+00:00``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

import aiohttp
import structlog
from kubernetes_asyncio.client import ApiClient, Configuration, CoordinationV1Api
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.config import load_incluster_config, load_kube_config

from bgpctl.runtime.client.errors import ApiConnectionError, ApiError, from_status, map_api_errors
from bgpctl.runtime.leaderelection.elector import DEFAULT_RENEW_DEADLINE
from bgpctl.runtime.leaderelection.record import LeaderElectionRecord

log = structlog.get_logger(__name__)


class EventSink(Protocol):
    """Queues an Event about an object without blocking (an ``EventRecorder``)."""

    def event(self, obj: dict[str, Any], event_type: str, reason: str, message: str) -> None:
        """Record an event of ``event_type`` about ``obj``."""
        ...


def default_request_timeout(renew_deadline: float = DEFAULT_RENEW_DEADLINE) -> float:
    """Per-request timeout for lease calls: ``max(renew_deadline / 2, 1)`` seconds."""
    return max(renew_deadline / 2, 1.0)


def _translate(exc: Exception) -> ApiError | None:
    if isinstance(exc, ApiException):
        try:
            status = json.loads(exc.body) if exc.body else None
        except (TypeError, ValueError):
            status = None
        return from_status(
            status if isinstance(status, dict) else None,
            code=int(exc.status or 0),
            message=str(exc.reason or ""),
        )
    if isinstance(exc, aiohttp.ClientError | OSError | TimeoutError):
        return ApiConnectionError(f"{type(exc).__name__}: {exc}")
    return None


@contextmanager
def _mapped() -> Iterator[None]:
    with map_api_errors(_translate):
        yield


def _micro_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def record_from_lease_spec(spec: Any) -> LeaderElectionRecord:
    """The record held in a ``V1LeaseSpec`` (or a spec ``dict`` in API field names)."""
    if spec is None:
        return LeaderElectionRecord(holder_identity="", lease_duration_seconds=0)
    if isinstance(spec, dict):
        get = spec.get
        return LeaderElectionRecord(
            holder_identity=get("holderIdentity") or "",
            lease_duration_seconds=int(get("leaseDurationSeconds") or 0),
            acquire_time=_parse_time(get("acquireTime")),
            renew_time=_parse_time(get("renewTime")),
            lease_transitions=int(get("leaseTransitions") or 0),
        )
    return LeaderElectionRecord(
        holder_identity=spec.holder_identity or "",
        lease_duration_seconds=int(spec.lease_duration_seconds or 0),
        acquire_time=_parse_time(spec.acquire_time),
        renew_time=_parse_time(spec.renew_time),
        lease_transitions=int(spec.lease_transitions or 0),
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
        api_client: A kubernetes-asyncio ``ApiClient``; closed by :meth:`close` only
            when this lock created it (the ``from_*`` constructors).
        namespace: Namespace of the Lease.
        name: Name of the Lease.
        identity: This candidate's identity.
        request_timeout: Seconds per API call (see :func:`default_request_timeout`).
        event_recorder: Receives the leader election Events; None records none.
    """

    def __init__(
        self,
        api_client: Any,
        *,
        namespace: str,
        name: str,
        identity: str,
        request_timeout: float = default_request_timeout(),
        event_recorder: EventSink | None = None,
    ) -> None:
        self._api_client = api_client
        self._leases = CoordinationV1Api(api_client)
        self._namespace = namespace
        self._name = name
        self._identity = identity
        self._timeout = request_timeout
        self._event_recorder = event_recorder
        self._lease: dict[str, Any] | None = None
        self._owns_client = False

    @classmethod
    async def from_kubeconfig(
        cls, path: str | os.PathLike[str], *, context: str | None = None, **kwargs: Any
    ) -> LeaseLock:
        """A lock with its own API client from a kubeconfig; ``kwargs`` as for the class."""
        configuration = Configuration()
        await load_kube_config(
            config_file=os.fspath(path),
            context=context,
            client_configuration=configuration,
            persist_config=False,
        )
        return cls._owning(configuration, **kwargs)

    @classmethod
    def in_cluster(cls, **kwargs: Any) -> LeaseLock:
        """A lock with its own API client from the pod's service account."""
        configuration = Configuration()
        load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        return cls._owning(configuration, **kwargs)

    @classmethod
    def _owning(cls, configuration: Any, **kwargs: Any) -> LeaseLock:
        client = ApiClient(configuration=configuration)
        client.user_agent = "bgpctl-leader-election"
        lock = cls(client, **kwargs)
        lock._owns_client = True
        return lock

    async def close(self) -> None:
        """Close the API client if this lock created it."""
        if self._owns_client:
            self._owns_client = False
            await self._api_client.close()

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
        with _mapped():
            lease = await self._leases.read_namespaced_lease(
                self._name, self._namespace, _request_timeout=self._timeout
            )
        self._cache(lease)
        return record_from_lease_spec(lease.spec)

    async def create(self, record: LeaderElectionRecord) -> None:
        """Create the Lease holding ``record``; ``AlreadyExists`` if it exists."""
        # Plain dicts are sent as they are; the typed models would reformat the times.
        body: Any = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self._name, "namespace": self._namespace},
            "spec": lease_spec_from_record(record),
        }
        with _mapped():
            lease = await self._leases.create_namespaced_lease(
                self._namespace, body, _request_timeout=self._timeout
            )
        self._cache(lease)

    async def update(self, record: LeaderElectionRecord) -> None:
        """Replace the cached Lease's spec; ``Conflict`` if the Lease changed since.

        Raises:
            RuntimeError: nothing cached yet (call :meth:`get` or :meth:`create`).
        """
        if self._lease is None:
            raise RuntimeError("lease not initialized, call get or create first")
        body: Any = {**self._lease, "spec": lease_spec_from_record(record)}
        with _mapped():
            lease = await self._leases.replace_namespaced_lease(
                self._name, self._namespace, body, _request_timeout=self._timeout
            )
        self._cache(lease)

    def record_event(self, message: str) -> None:
        """Queue a Normal ``LeaderElection`` Event on the Lease: "<identity> <message>"."""
        if self._event_recorder is None or self._lease is None:
            return
        self._event_recorder.event(
            self._lease, "Normal", "LeaderElection", f"{self._identity} {message}"
        )

    def _cache(self, lease: Any) -> None:
        # Keep the object as a dict so that updates send exactly what we read, with
        # the spec rewritten by us (see the module docstring on times).
        self._lease = self._api_client.sanitize_for_serialization(lease)
