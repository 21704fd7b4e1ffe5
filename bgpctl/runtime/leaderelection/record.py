"""The leader election record and the lock protocol it is stored through.

Mirrors client-go ``tools/leaderelection/resourcelock/interface.go``: the record is
what a candidate reads and writes, and a :class:`ResourceLock` hides where it lives
(a ``coordination.k8s.io/v1`` Lease in production, memory in unit tests).

Upstream: ``Get`` returns the record plus its raw JSON bytes, and the elector compares
the bytes to notice a change; we return only the frozen record and compare records,
because equality of the parsed record is equality of everything a candidate reads.
Upstream: errors are Go ``error`` values tested with apimachinery predicates; a lock
raises the :mod:`bgpctl.runtime.client.errors` tree (``NotFound`` from :meth:`get`,
``Conflict`` from :meth:`update`), which the same predicates classify.
Upstream: ``PreferredHolder`` and ``Strategy`` (coordinated leader election) are left
out; we only run the classic strategy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class LeaderElectionRecord:
    """Who holds a lease and since when, as stored in the lock.

    Attributes:
        holder_identity: Identity of the current holder; ``""`` means released.
        lease_duration_seconds: How long others must wait, after they last saw the
            record change, before they may take over (whole seconds).
        acquire_time: Wall-clock time the holder acquired the lease. Informational:
            candidates never compare it with their own clock.
        renew_time: Wall-clock time of the holder's last renewal. Informational too.
        lease_transitions: How many times the lease changed hands.
    """

    holder_identity: str
    lease_duration_seconds: int
    acquire_time: datetime | None = None
    renew_time: datetime | None = None
    lease_transitions: int = 0


class ResourceLock(Protocol):
    """Where the record lives. One instance per candidate.

    The lock caches the object of its last successful :meth:`get`, :meth:`create` or
    :meth:`update`; :meth:`update` writes against that cached version (optimistic
    concurrency), so a write by anyone else in between makes it raise ``Conflict``.
    Every method may raise any :class:`~bgpctl.runtime.client.errors.ApiError`;
    cancellation aborts the call and propagates.
    """

    @property
    def identity(self) -> str:
        """This candidate's identity, written as ``holder_identity`` when it leads."""
        ...

    def describe(self) -> str:
        """A human-readable name of the lock for logs (``namespace/name``)."""
        ...

    async def get(self) -> LeaderElectionRecord:
        """Read the record and cache the object; ``NotFound`` if it does not exist."""
        ...

    async def create(self, record: LeaderElectionRecord) -> None:
        """Create the object holding ``record``; ``AlreadyExists`` if someone was first."""
        ...

    async def update(self, record: LeaderElectionRecord) -> None:
        """Replace the record in the cached object; ``Conflict`` if it changed meanwhile.

        Raises:
            RuntimeError: if nothing was cached yet (call :meth:`get` or :meth:`create`).
        """
        ...

    def record_event(self, message: str) -> None:
        """Report "<identity> <message>" as an Event on the lock's object.

        Must not block or do I/O itself (hand it to an event recorder), as upstream's
        ``RecordEvent``; the elector logs and ignores anything it raises.
        """
        ...
