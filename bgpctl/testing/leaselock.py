"""In-memory :class:`ResourceLock` for unit tests, with fault injection.

Mirrors what ``LeaseLock`` sees from a real API server: one shared
:class:`InMemoryLeaseServer` holds the record and a resourceVersion, and each candidate
gets an :class:`InMemoryLock` that caches the version of its last read or write, so a
write against a stale version raises ``Conflict`` exactly as the API server would.
Errors are the :mod:`bgpctl.runtime.client.errors` classes the real lock raises.

Faults are per candidate (they model that candidate's view of the network):

* ``fail(op, error, times=n)``: the next ``n`` calls of ``op`` raise ``error`` and do
  nothing;
* ``lose_response(op, times=n)``: the next ``n`` calls take effect on the server but
  the caller gets a connection error (the answer was lost);
* ``partition()`` / ``heal()``: every call fails until healed;
* ``delay(op, seconds)``: every call of ``op`` waits that long first (virtual time
  under looptime), which is how API latency and hangs are modelled.

``op`` is one of ``"get"``, ``"create"``, ``"update"``. Events are kept in
``InMemoryLeaseServer.events`` unless the candidate is partitioned.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from datetime import UTC, datetime, timedelta
from typing import Literal

from bgpctl.runtime import clock
from bgpctl.runtime.client.errors import (
    AlreadyExists,
    ApiConnectionError,
    ApiError,
    Conflict,
    NotFound,
)
from bgpctl.runtime.leaderelection.record import LeaderElectionRecord

Op = Literal["get", "create", "update"]


class InMemoryLeaseServer:
    """The API server side of one lease: the record, its version and its history."""

    def __init__(self, *, namespace: str = "bgp-system", name: str = "bgpctl") -> None:
        self.namespace = namespace
        self.name = name
        self.record: LeaderElectionRecord | None = None
        self.resource_version = 0
        self.history: list[LeaderElectionRecord] = []
        """Every record successfully written, in order."""
        self.events: list[str] = []
        """Messages of recorded events ("<identity> became leader")."""

    def lock(self, identity: str) -> InMemoryLock:
        """A candidate's view of this lease."""
        return InMemoryLock(self, identity)

    def write(self, record: LeaderElectionRecord) -> None:
        """Write out of band (another actor, ``kubectl edit``); bumps the version."""
        self.record = record
        self.resource_version += 1
        self.history.append(record)

    def holders(self) -> list[str]:
        """Holder identities in write order, consecutive repeats collapsed."""
        out: list[str] = []
        for record in self.history:
            if not out or out[-1] != record.holder_identity:
                out.append(record.holder_identity)
        return out


class InMemoryLock:
    """One candidate's lock on an :class:`InMemoryLeaseServer`."""

    def __init__(self, server: InMemoryLeaseServer, identity: str) -> None:
        self._server = server
        self._identity = identity
        self._cached_version: int | None = None
        self._faults: dict[str, deque[ApiError]] = {}
        self._lost: Counter[str] = Counter()
        self._delays: dict[str, float] = {}
        self._partitioned = False
        self.calls: Counter[str] = Counter()
        """How often each operation was called (faulty calls included)."""
        self.log: list[tuple[float, str]] = []
        """(loop time, operation) of every call, in order."""

    @property
    def identity(self) -> str:
        return self._identity

    def describe(self) -> str:
        return f"{self._server.namespace}/{self._server.name}"

    # -- fault injection -----------------------------------------------------------

    def fail(self, op: Op, error: ApiError | None = None, *, times: int = 1) -> None:
        """Make the next ``times`` calls of ``op`` raise ``error`` (default a 500)."""
        queue = self._faults.setdefault(op, deque())
        for _ in range(times):
            queue.append(error or ApiError("injected failure", code=500, reason="InternalError"))

    def lose_response(self, op: Op, *, times: int = 1) -> None:
        """The next ``times`` calls of ``op`` take effect but report a connection error."""
        self._lost[op] += times

    def delay(self, op: Op, seconds: float) -> None:
        """Every later call of ``op`` waits ``seconds`` first (0 removes the delay)."""
        self._delays[op] = seconds

    def partition(self) -> None:
        """Every call fails with a connection error until :meth:`heal`."""
        self._partitioned = True

    def heal(self) -> None:
        """Undo :meth:`partition`, delays and pending faults."""
        self._partitioned = False
        self._faults.clear()
        self._lost.clear()
        self._delays.clear()

    # -- ResourceLock --------------------------------------------------------------

    async def get(self) -> LeaderElectionRecord:
        await self._enter("get")
        record = self._server.record
        if record is None:
            raise NotFound(f"lease {self.describe()} not found")
        self._cached_version = self._server.resource_version
        return record

    async def create(self, record: LeaderElectionRecord) -> None:
        await self._enter("create")
        if self._server.record is not None:
            raise AlreadyExists(f"lease {self.describe()} already exists")
        self._store(record, "create")

    async def update(self, record: LeaderElectionRecord) -> None:
        await self._enter("update")
        if self._cached_version is None:
            raise RuntimeError("lease not initialized, call get or create first")
        if self._server.record is None:
            raise NotFound(f"lease {self.describe()} not found")
        if self._cached_version != self._server.resource_version:
            raise Conflict(f"lease {self.describe()}: the object has been modified")
        self._store(record, "update")

    def record_event(self, message: str) -> None:
        self.calls["event"] += 1
        if not self._partitioned:  # a real recorder would retry; ours just loses it
            self._server.events.append(f"{self._identity} {message}")

    # -- internals -----------------------------------------------------------------

    def _store(self, record: LeaderElectionRecord, op: str) -> None:
        self._server.write(record)
        if self._lost[op]:
            # The server has the write, but the answer (and its new resourceVersion)
            # never arrived: the cached version stays what it was, as in a real client.
            self._lost[op] -= 1
            raise ApiConnectionError("injected lost response")
        self._cached_version = self._server.resource_version

    async def _enter(self, op: str) -> None:
        self.calls[op] += 1
        self.log.append((clock.now(), op))
        if delay := self._delays.get(op):
            await asyncio.sleep(delay)
        if self._partitioned:
            raise ApiConnectionError("injected partition")
        if queue := self._faults.get(op):
            raise queue.popleft()


def virtual_wall_clock() -> datetime:
    """UTC timestamps that advance with the running loop's clock (looptime-friendly).

    Pass as ``LeaderElectionConfig.wall_clock`` so that records written at different
    virtual times differ even when no real time passed between them.
    """
    return _EPOCH + timedelta(seconds=clock.now())


_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
