"""LeaderElector: acquire, renew and release a lease held in a :class:`ResourceLock`.

Mirrors client-go ``tools/leaderelection/leaderelection.go`` (``NewLeaderElector``,
``Run``, ``acquire``, ``renew``, ``release``, ``tryAcquireOrRenew``) and
``healthzadaptor.go`` (:meth:`LeaderElector.check`).

Invariants:

* Lease validity is judged only on this process's monotonic clock (``loop.time()``):
  a record counts from the moment *we* first saw it in its current form
  (``observed_time``). The holder's ``renew_time`` is written for humans and never
  compared with our clock, so clock skew between nodes cannot cause two leaders.
* A candidate writes only through the lock's optimistic concurrency (the cached
  resourceVersion), so of two racing candidates exactly one write succeeds.
* ``on_stopped_leading`` runs on every exit from :meth:`LeaderElector.run`, also when
  leadership was never acquired (as upstream's ``defer``).

Deliberate differences:

* Upstream: ``OnStartedLeading`` runs in a goroutine nobody waits for, so a release
  can race the leader's own work; we run it in a task the elector owns, cancel it when
  leadership ends and wait for it before releasing, because a lease must never be
  handed over while our leader work still runs.
* Upstream: ``release`` makes one attempt; on ``Conflict`` we re-read and retry while
  we still hold the lease (architecture §E9), because a renewal cancelled mid-flight
  leaves the cached resourceVersion stale and would otherwise waste the release.
* Upstream: a release is also attempted after a failed renewal; we release only on
  cancellation or when the leader callback failed (see ``_lead``).
* Upstream: ``OnNewLeader`` runs in a goroutine; ours is called synchronously and must
  be cheap (log, set a flag). It is called with ``""`` after a release, as upstream.
* Upstream: ``leaseDurationSeconds`` is ``int(LeaseDuration / time.Second)``; we
  truncate the same way and therefore require ``lease_duration >= 1`` (upstream only
  requires > 0, and would store 0 for a sub-second lease).
* Upstream: the status gauge is first set on acquisition; we set it to 0 when
  :meth:`LeaderElector.run` starts, so standbys export the series too.
"""

from __future__ import annotations

import asyncio
import random
import socket
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from bgpctl.runtime import clock
from bgpctl.runtime.client.errors import is_conflict, is_not_found
from bgpctl.runtime.leaderelection.record import LeaderElectionRecord, ResourceLock

DEFAULT_LEASE_DURATION = 15.0
"""Seconds a non-leader waits after the last observed change before taking over."""
DEFAULT_RENEW_DEADLINE = 10.0
"""Seconds the leader keeps retrying a renewal before it gives up leadership."""
DEFAULT_RETRY_PERIOD = 2.0
"""Seconds between attempts to acquire or renew."""
JITTER_FACTOR = 1.2
"""Acquire attempts wait ``retry_period * (1 + U[0, JITTER_FACTOR))``."""
_RELEASE_ATTEMPTS = 3

log = structlog.get_logger(__name__)


class SwitchMetric(Protocol):
    """Reports whether this process leads a named lease (implemented in bgpctl.metrics)."""

    def on(self, name: str) -> None:
        """We lead ``name``."""
        ...

    def off(self, name: str) -> None:
        """We do not lead ``name``."""
        ...


class _NoMetric:
    def on(self, name: str) -> None:
        pass

    def off(self, name: str) -> None:
        pass


class LeaderElectionUnhealthyError(Exception):
    """The leader has not renewed for longer than the lease plus the tolerance."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def new_identity() -> str:
    """A unique candidate identity: ``<hostname>_<uuid4>`` (controller-runtime's form)."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaderCallbacks:
    """What the elector calls as leadership changes.

    Attributes:
        on_started_leading: Run in a task when we become leader; the task is cancelled
            when leadership ends. It may return early; if it raises, leadership is
            given up and :meth:`LeaderElector.run` raises the same exception.
        on_stopped_leading: Called on every exit from :meth:`LeaderElector.run`.
        on_new_leader: Called when the observed holder changes (``""`` = released).
    """

    on_started_leading: Callable[[], Coroutine[Any, Any, None]]
    on_stopped_leading: Callable[[], None]
    on_new_leader: Callable[[str], None] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaderElectionConfig:
    """Parameters of one election (client-go ``LeaderElectionConfig``).

    Attributes:
        lock: Where the record lives; its identity is ours.
        callbacks: See :class:`LeaderCallbacks`.
        lease_duration: Seconds others wait before taking over a silent lease (15).
        renew_deadline: Seconds the leader retries a renewal before giving up (10).
        retry_period: Seconds between attempts (2).
        release_on_cancel: Release the lease when :meth:`LeaderElector.run` ends.
        name: Name of the lease for metrics and logs.
        metrics: Receives on/off for ``name``; none by default.
        wall_clock: Timestamps written into the record (UTC now); never compared.
    """

    lock: ResourceLock
    callbacks: LeaderCallbacks
    lease_duration: float = DEFAULT_LEASE_DURATION
    renew_deadline: float = DEFAULT_RENEW_DEADLINE
    retry_period: float = DEFAULT_RETRY_PERIOD
    release_on_cancel: bool = False
    name: str = ""
    metrics: SwitchMetric | None = None
    wall_clock: Callable[[], datetime] = field(default=_utc_now)


def _validate(config: LeaderElectionConfig) -> None:
    # Same checks and order as NewLeaderElector, so messages line up with upstream.
    if config.lease_duration <= config.renew_deadline:
        raise ValueError("lease_duration must be greater than renew_deadline")
    if config.renew_deadline <= JITTER_FACTOR * config.retry_period:
        raise ValueError("renew_deadline must be greater than retry_period*JITTER_FACTOR")
    if config.lease_duration < 1:
        raise ValueError("lease_duration must be at least 1 second")
    if config.renew_deadline <= 0:
        raise ValueError("renew_deadline must be greater than zero")
    if config.retry_period <= 0:
        raise ValueError("retry_period must be greater than zero")
    if not callable(config.callbacks.on_started_leading):
        raise ValueError("on_started_leading callback must be set")
    if not callable(config.callbacks.on_stopped_leading):
        raise ValueError("on_stopped_leading callback must be set")
    if not config.lock.identity:
        raise ValueError("lock identity is empty")


class LeaderElector:
    """Campaigns for a lease, runs the leader callback while it holds it.

    Not reusable: call :meth:`run` once.

    Raises:
        ValueError: at construction, for inconsistent durations, a missing callback
            or an empty identity.
    """

    def __init__(self, config: LeaderElectionConfig) -> None:
        _validate(config)
        self._config = config
        self._lock = config.lock
        self._metrics: SwitchMetric = config.metrics or _NoMetric()
        self._lease_seconds = int(config.lease_duration)
        # The record as we last saw or wrote it, and when (loop time). Upstream keeps
        # the raw bytes of the last *read* separately: a read that equals it does not
        # refresh observed_time, a read that differs does.
        self._observed_record: LeaderElectionRecord | None = None
        self._observed_raw: LeaderElectionRecord | None = None
        self._observed_time = 0.0
        self._reported_leader = ""

    @property
    def identity(self) -> str:
        """Our identity in the lock."""
        return self._lock.identity

    def is_leader(self) -> bool:
        """Whether the last observed record names us as holder."""
        return self.get_leader() == self.identity

    def get_leader(self) -> str:
        """The holder of the last observed record (``""`` if none seen or released)."""
        return self._observed_record.holder_identity if self._observed_record else ""

    @property
    def observed_record(self) -> LeaderElectionRecord | None:
        """The record as last read or written by us."""
        return self._observed_record

    async def run(self) -> None:
        """Acquire the lease, lead, and return once leadership is lost.

        Returns when a renewal missed ``renew_deadline``. Raises whatever
        ``on_started_leading`` raised, after giving up leadership. On cancellation the
        leader task is cancelled and awaited, the lease is released (when
        ``release_on_cancel``), and ``CancelledError`` propagates.
        """
        self._metrics.off(self._config.name)
        try:
            await self._acquire()
            await self._lead()
        finally:
            self._metrics.off(self._config.name)
            self._config.callbacks.on_stopped_leading()

    async def _acquire(self) -> None:
        log.info("attempting to acquire leader lease", lease=self._lock.describe())
        while True:
            succeeded = await self.try_acquire_or_renew()
            self._maybe_report_transition()
            if succeeded:
                self._metrics.on(self._config.name)
                log.info("successfully acquired lease", lease=self._lock.describe())
                return
            # JitterUntil(sliding): the wait starts after the attempt ended.
            period = self._config.retry_period
            await asyncio.sleep(period + random.random() * JITTER_FACTOR * period)

    async def _lead(self) -> None:
        leading = asyncio.create_task(
            self._config.callbacks.on_started_leading(),
            name=f"leader-election {self._config.name}: leading",
        )
        lost = False
        try:
            self._record_event("became leader")
            await self._renew(leading)
            lost = True
        finally:
            leading.cancel()
            await asyncio.wait([leading])
            failure = None if leading.cancelled() else leading.exception()
            # Upstream also releases after a missed renew deadline; we do not: the
            # lease is as good as gone then, and the attempt would only delay
            # on_stopped_leading (and so a fatal exit) by up to renew_deadline.
            if not lost and self._config.release_on_cancel:
                await self.release()
        if failure is not None:
            raise failure

    async def _renew(self, leading: asyncio.Task[None]) -> None:
        # wait.Until: the first renewal runs at once, then one retry period after each.
        while True:
            renewed = await self._renew_within_deadline()
            self._maybe_report_transition()
            if not renewed:
                log.warning("failed to renew lease", lease=self._lock.describe())
                self._record_event("stopped leading")
                return
            log.debug("successfully renewed lease", lease=self._lock.describe())
            await self._pause(leading)

    async def _pause(self, leading: asyncio.Task[None]) -> None:
        """Sleep one retry period; raise early if the leader callback fails meanwhile."""
        until = clock.now() + self._config.retry_period
        if not leading.done():
            await asyncio.wait([leading], timeout=self._config.retry_period)
            _raise_if_failed(leading)
        if (remaining := until - clock.now()) > 0:
            # The callback may return early (it only started work elsewhere).
            await asyncio.sleep(remaining)

    async def _renew_within_deadline(self) -> bool:
        # PollUntilContextTimeout(immediate): the deadline also bounds the calls.
        try:
            async with asyncio.timeout(self._config.renew_deadline):
                while True:
                    if await self.try_acquire_or_renew():
                        return True
                    await asyncio.sleep(self._config.retry_period)
        except TimeoutError:
            return False

    async def try_acquire_or_renew(self) -> bool:
        """One attempt to acquire or renew; True if we hold the lease afterwards.

        Lock errors are logged and yield False; cancellation propagates.
        """
        now = clock.now()
        stamp = self._config.wall_clock()
        desired = LeaderElectionRecord(
            holder_identity=self.identity,
            lease_duration_seconds=self._lease_seconds,
            acquire_time=stamp,
            renew_time=stamp,
        )
        observed = self._observed_record
        # 1. Fast path: we lead and our own clock says the lease is still ours, so
        # write against the cached object without reading it first.
        if observed is not None and self.is_leader() and self._is_lease_valid(now):
            record = replace(
                desired,
                acquire_time=observed.acquire_time,
                lease_transitions=observed.lease_transitions,
            )
            try:
                await self._lock.update(record)
            except Exception as exc:
                log.info("optimistic lease update failed, using slow path", error=str(exc))
            else:
                self._set_observed(record)
                return True
        # 2. Read the record, creating it if there is none.
        try:
            current = await self._lock.get()
        except Exception as exc:
            if not is_not_found(exc):
                log.warning("error retrieving lease", lease=self._lock.describe(), error=str(exc))
                return False
            try:
                await self._lock.create(desired)
            except Exception as exc:
                log.warning("error creating lease", lease=self._lock.describe(), error=str(exc))
                return False
            self._set_observed(desired)
            return True
        # 3. Only a change we see ourselves restarts the lease clock.
        if current != self._observed_raw:
            self._observed_raw = current
            self._set_observed(current)
        if current.holder_identity and self._is_lease_valid(now) and not self.is_leader():
            log.debug("lease is held by another candidate", holder=current.holder_identity)
            return False
        # 4. Take over (a new transition) or renew (keep acquire time and count).
        if self.is_leader():
            record = replace(
                desired,
                acquire_time=current.acquire_time,
                lease_transitions=current.lease_transitions,
            )
        else:
            record = replace(desired, lease_transitions=current.lease_transitions + 1)
        try:
            await self._lock.update(record)
        except Exception as exc:
            log.info("failed to update lease", lease=self._lock.describe(), error=str(exc))
            return False
        self._set_observed(record)
        return True

    async def release(self) -> bool:
        """Give the lease up if we hold it: holder ``""``, duration 1 s.

        Retries on ``Conflict`` (re-reading first) while we are still the holder, all
        within ``renew_deadline``. Returns False if the release could not be written;
        cancellation propagates.
        """
        observed = self._observed_record
        if observed is None or not self.is_leader():
            return True
        stamp = self._config.wall_clock()
        record = LeaderElectionRecord(
            holder_identity="",
            lease_duration_seconds=1,
            acquire_time=stamp,
            renew_time=stamp,
            lease_transitions=observed.lease_transitions,
        )
        try:
            async with asyncio.timeout(self._config.renew_deadline):
                released = await self._write_release(record)
        except Exception as exc:
            log.error("failed to release lease", lease=self._lock.describe(), error=str(exc))
            return False
        if released is not None:
            self._set_observed(released)
            log.info("released lease", lease=self._lock.describe())
        return True

    async def _write_release(self, record: LeaderElectionRecord) -> LeaderElectionRecord | None:
        """Write ``record``; None when someone else took the lease meanwhile."""
        for attempt in range(_RELEASE_ATTEMPTS):
            try:
                await self._lock.update(record)
            except Exception as exc:
                if not is_conflict(exc) or attempt == _RELEASE_ATTEMPTS - 1:
                    raise
                current = await self._lock.get()
                self._observed_raw = current
                if current.holder_identity != self.identity:
                    self._set_observed(current)
                    return None
                record = replace(record, lease_transitions=current.lease_transitions)
            else:
                return record
        raise AssertionError("unreachable")  # pragma: no cover

    def check(self, *, max_tolerable_expired_lease: float = 0.0) -> None:
        """Health of the leader: fine unless we lead without a recent renewal.

        Mirrors client-go ``HealthzAdaptor.Check``.

        Raises:
            LeaderElectionUnhealthyError: we lead, and more than ``lease_duration +
                max_tolerable_expired_lease`` seconds passed since our last renewal.
        """
        if not self.is_leader():
            return
        since = clock.now() - self._observed_time
        if since > self._config.lease_duration + max_tolerable_expired_lease:
            raise LeaderElectionUnhealthyError(
                f"failed election to renew leadership on lease {self._config.name}"
            )

    def _set_observed(self, record: LeaderElectionRecord) -> None:
        self._observed_record = record
        self._observed_time = clock.now()

    def _is_lease_valid(self, now: float) -> bool:
        record = self._observed_record
        if record is None:
            return False
        return self._observed_time + record.lease_duration_seconds > now

    def _maybe_report_transition(self) -> None:
        holder = self.get_leader()
        if holder == self._reported_leader:
            return
        self._reported_leader = holder
        log.info("new leader observed", lease=self._lock.describe(), holder=holder)
        callback = self._config.callbacks.on_new_leader
        if callback is None:
            return
        try:
            callback(holder)
        except Exception:
            log.exception("on_new_leader callback failed", lease=self._lock.describe())

    def _record_event(self, message: str) -> None:
        try:
            self._lock.record_event(message)
        except Exception as exc:
            log.debug("could not record leader election event", error=str(exc))


def _raise_if_failed(task: asyncio.Task[None]) -> None:
    if task.done() and not task.cancelled() and (exc := task.exception()) is not None:
        raise exc
