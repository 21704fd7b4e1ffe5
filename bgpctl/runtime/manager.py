"""Manager: starts caches, runnables and leader election in order; stops them in reverse.

Mirrors controller-runtime ``pkg/manager/internal.go`` (``controllerManager.Start``,
``engageStopProcedure``) and ``runnable_group.go``.

Start order: metrics and health servers (bound before anything else) → caches (the
start fails if they do not sync within ``cache_sync_timeout``) → runnables without
leader election → leader election → leader-only runnables, started from
``on_started_leading``. Without leader election the last group starts at once.

Stop (``stop()``, SIGTERM or SIGINT): the groups are cancelled in reverse order, each
group's runnables together, and awaited under one ``graceful_shutdown_timeout``. The
lease is released only after every leader-only runnable has ended. A second signal
exits the process at once (status 1), as upstream's signal handler does.

Failures: a runnable that raises or returns stops the manager gracefully, and
:meth:`Manager.start` then raises :class:`RunnableError` chained to the cause.
Losing the lease is fatal by default: every task is cancelled at once, without the
ordered drain, and :meth:`Manager.start` raises :class:`LeaderElectionLostError`, so the
process exits non-zero and restarts as a standby (controller-runtime sets the graceful
timeout to zero on a lost lease for the same reason: another leader may already be
acting). With ``leader_election_lost_is_fatal=False`` only the leader-only runnables
are cancelled (at once, awaited) and the manager competes for the lease again; when it
wins, the leader-only runnables are started again, so they must be restartable (a
fresh controller per start: :class:`~bgpctl.runtime.runnable.Rebuilding`).

One ``TaskGroup`` owns every task. Runnables run under a supervisor
(:class:`~bgpctl.runtime.runnable.RunnableGroups`) that turns an exception or an early
return into a stop request, so the task group itself never aborts on a runnable
failure and the drain order stays ours.

Upstream: when the graceful timeout expires, ``Start`` returns and abandons whatever
still runs; we cancel the stragglers a second time and wait for them, because a task
must not outlive its owner, then raise :class:`GracefulShutdownTimeoutError`.
Upstream: cancelling the context is the graceful stop; here cancelling ``start()``
is a hard stop (everything cancelled together) and :meth:`Manager.stop` is the
graceful one, because asyncio cancellation should stay prompt.
Upstream: ``LeaderElectionReleaseOnCancel`` defaults to false; ours defaults to true,
because our drain order guarantees that leader work has ended before the release.
Upstream: the manager builds its metrics and probe servers from bind addresses; ours
are built by :func:`bgpctl.metrics.server.probe_servers` and added with
:meth:`Manager.add_server`, because ``bgpctl.metrics`` sits below the runtime and the
runtime may not import prometheus_client, even indirectly (import-linter).
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import structlog

from bgpctl.runtime import clock
from bgpctl.runtime.healthz import CheckFailedError, Checks, HealthCheck, ping
from bgpctl.runtime.leaderelection import (
    DEFAULT_LEASE_DURATION,
    DEFAULT_RENEW_DEADLINE,
    DEFAULT_RETRY_PERIOD,
    LeaderCallbacks,
    LeaderElectionConfig,
    LeaderElector,
    ResourceLock,
    SwitchMetric,
)
from bgpctl.runtime.runnable import (
    Cache,
    CacheSyncTimeoutError,
    Runnable,
    RunnableGroups,
    Server,
    needs_leader_election,
    readiness_hook,
    restartable,
)

DEFAULT_CACHE_SYNC_TIMEOUT = 120.0
"""Seconds the start waits for caches to sync before failing."""
DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT = 30.0
"""Seconds the ordered stop may take in total."""
_CACHE_SYNC_POLL = 0.1  # upstream WaitForCacheSync polls every 100 ms

log = structlog.get_logger(__name__)


class ManagerError(Exception):
    """Base of the errors :meth:`Manager.start` raises."""


class RunnableError(ManagerError):
    """A runnable (or cache, or server) failed or exited; ``__cause__`` says why."""


class LeaderElectionLostError(ManagerError):
    """The lease was lost while leading; the process must exit."""


class GracefulShutdownTimeoutError(ManagerError):
    """Runnables did not stop within ``graceful_shutdown_timeout``."""


class _Group(IntEnum):
    """Runnable groups in start order; they stop in reverse."""

    SERVERS = 0
    CACHES = 1
    OTHERS = 2
    ELECTION = 3
    LEADER = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class ManagerOptions:
    """How the manager serves, elects and stops.

    Attributes:
        leader_election: Run leader-only runnables only while holding the lease.
        leader_election_id: Lease name (metrics label and logs).
        lease_duration: Seconds (15). See ``LeaderElectionConfig``.
        renew_deadline: Seconds (10).
        retry_period: Seconds (2).
        leader_election_release_on_cancel: Release the lease on a graceful stop.
        leader_election_health_tolerance: Seconds a leader may be late renewing
            beyond the lease duration before ``/healthz`` and ``/readyz`` fail (0).
        leader_election_lost_is_fatal: Stop the manager when the lease is lost (True);
            False stops only the leader-only runnables and competes again.
        cache_sync_timeout: Seconds (120).
        graceful_shutdown_timeout: Seconds for the whole ordered stop (30).
        handle_signals: Turn SIGTERM/SIGINT into :meth:`Manager.stop` while running.
    """

    leader_election: bool = False
    leader_election_id: str = ""
    lease_duration: float = DEFAULT_LEASE_DURATION
    renew_deadline: float = DEFAULT_RENEW_DEADLINE
    retry_period: float = DEFAULT_RETRY_PERIOD
    leader_election_release_on_cancel: bool = True
    leader_election_health_tolerance: float = 0.0
    leader_election_lost_is_fatal: bool = True
    cache_sync_timeout: float = DEFAULT_CACHE_SYNC_TIMEOUT
    graceful_shutdown_timeout: float = DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT
    handle_signals: bool = False


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    runnable: Runnable


class Manager:
    """Owns the process's long-lived components and their lifecycle.

    Args:
        options: See :class:`ManagerOptions`.
        leader_election_lock: Required when ``options.leader_election``.
        leader_election_metrics: Receives leader on/off (the wiring passes the Prometheus
            gauge from ``bgpctl.metrics.leaderelection``); none by default.

    Raises:
        ValueError: leader election is on but no lock was given, or its timings are
            inconsistent (see ``LeaderElector``).
    """

    def __init__(
        self,
        options: ManagerOptions | None = None,
        *,
        leader_election_lock: ResourceLock | None = None,
        leader_election_metrics: SwitchMetric | None = None,
    ) -> None:
        self._options = options = options or ManagerOptions()
        self._caches: list[tuple[str, Cache]] = []
        self._runnables: list[_Entry] = []
        self._leader_runnables: list[_Entry] = []
        self.healthz = Checks()
        self.readyz = Checks()
        self._servers: list[Server] = []
        self._elector = self._make_elector(leader_election_lock, leader_election_metrics)
        self._groups: RunnableGroups | None = None
        self._started = False
        self._stopping = False
        self._stop_requested = False
        self._stop_signal: asyncio.Future[None] | None = None
        self._fatal_signal: asyncio.Future[None] | None = None
        self._error: Exception | None = None
        self._fatal: Exception | None = None
        self._serving = asyncio.Event()
        self._elected = asyncio.Event()
        self._caches_synced = False
        self._runnables_started = False
        self.healthz.add("ping", ping)
        self.readyz.add("caches", self._check_caches)
        self.readyz.add("runnables", self._check_runnables)
        if self._elector is not None:
            self.healthz.add("leader-election", self._check_leader_election)
            self.readyz.add("leader-election", self._check_leader_election)

    # -- configuration -------------------------------------------------------------

    def add(self, runnable: Runnable, *, name: str | None = None) -> None:
        """Add a runnable; ``needs_leader_election`` decides its group.

        ``name`` (for logs and errors) defaults to the runnable's ``name`` attribute
        when it is a string, else to its class name.

        Raises:
            RuntimeError: the manager was already started.
            ValueError: a leader-only runnable that starts only once (a controller) on a
                manager that survives a lost lease and starts its leader-only runnables
                again: wrap it in :class:`~bgpctl.runtime.runnable.Rebuilding`.
        """
        self._check_not_started()
        entry = _Entry(name or _default_name(runnable), runnable)
        if (
            needs_leader_election(runnable)
            and self._options.leader_election
            and not self._options.leader_election_lost_is_fatal
            and not restartable(runnable)
        ):
            raise ValueError(
                f"{entry.name}: a leader-only runnable that starts only once cannot be "
                "restarted after the lease is won back; wrap it in Rebuilding"
            )
        if needs_leader_election(runnable):
            self._leader_runnables.append(entry)
        else:
            self._runnables.append(entry)

    def add_server(self, server: Server) -> None:
        """Add a metrics or probe server (``bgpctl.metrics.server.probe_servers``).

        Servers start first and must be bound before the caches start; their checks
        are :attr:`healthz` and :attr:`readyz`.
        """
        self._check_not_started()
        self._servers.append(server)

    def add_cache(self, cache: Cache, *, name: str | None = None) -> None:
        """Add an informer or cache, started first and waited for until synced."""
        self._check_not_started()
        self._caches.append((name or _default_name(cache), cache))

    def add_healthz_check(self, name: str, check: HealthCheck) -> None:
        """Add a liveness check (``/healthz``)."""
        self.healthz.add(name, check)

    def add_readyz_check(self, name: str, check: HealthCheck) -> None:
        """Add a readiness check (``/readyz``)."""
        self.readyz.add(name, check)

    # -- state ---------------------------------------------------------------------

    @property
    def addresses(self) -> dict[str, tuple[str, int]]:
        """Bound ``(host, port)`` per server name ("metrics", "health")."""
        return {s.name: s.address for s in self._servers if s.address is not None}

    async def wait_serving(self) -> None:
        """Wait until the metrics and health servers are bound."""
        await self._serving.wait()

    def is_leader(self) -> bool:
        """Whether leader-only runnables have been started (at once without election)."""
        return self._elected.is_set()

    async def wait_elected(self) -> None:
        """Wait until this manager leads (upstream ``Elected()``)."""
        await self._elected.wait()

    def stop(self) -> None:
        """Request the graceful, ordered stop. Idempotent; safe before start."""
        self._stop_requested = True
        if self._stop_signal is not None and not self._stop_signal.done():
            self._stop_signal.set_result(None)

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        """Start everything in order and run until stopped.

        Returns after :meth:`stop` (or a signal) once everything has stopped.

        Raises:
            RunnableError: a runnable, cache or server failed or exited.
            CacheSyncTimeoutError: caches did not sync in time.
            LeaderElectionLostError: the lease was lost (no graceful drain).
            GracefulShutdownTimeoutError: the ordered stop took too long.
            RuntimeError: ``start`` was called twice.
        """
        if self._started:
            raise RuntimeError("manager already started")
        self._started = True
        loop = asyncio.get_running_loop()
        self._stop_signal = loop.create_future()
        self._fatal_signal = loop.create_future()
        clean = True
        with self._signal_handlers():
            async with asyncio.TaskGroup() as tg:
                groups = RunnableGroups(tg, report=self._on_exit, stopping=lambda: self._stopping)
                self._groups = groups
                starter = None
                if not self._stop_requested:
                    starter = tg.create_task(
                        groups.supervise("start", self._start_all(), may_return=True)
                    )
                    await asyncio.wait([self._stop_signal])
                # From here on nothing new is started (see _start_leader_runnables).
                self._stopping = True
                if starter is not None:
                    starter.cancel()
                    await asyncio.wait([starter])
                if self._fatal is None:
                    log.info("stopping manager gracefully")
                    clean = await groups.drain(
                        reversed(_Group),
                        deadline=clock.now() + self._options.graceful_shutdown_timeout,
                        abort=self._fatal_signal,
                    )
                if self._fatal is not None or not clean:
                    groups.cancel_all(reversed(_Group))
        log.info("manager stopped")
        if self._fatal is not None:
            raise self._fatal
        if self._error is not None:
            raise self._error
        if not clean:
            raise GracefulShutdownTimeoutError(
                "runnables did not stop within "
                f"{self._options.graceful_shutdown_timeout:g}s of the shutdown request"
            )

    async def _start_all(self) -> None:
        for server in self._servers:
            self._spawn(_Group.SERVERS, server.name, server.start())
        for server in self._servers:
            await server.wait_serving()
        self._serving.set()
        for name, cache in self._caches:
            self._spawn(_Group.CACHES, name, cache.start())
        await self._wait_for_cache_sync()
        self._caches_synced = True
        for entry in self._runnables:
            self._spawn(_Group.OTHERS, entry.name, entry.runnable.start())
        self._runnables_started = True
        if self._elector is None:
            self._start_leader_runnables()
        else:
            self._spawn(_Group.ELECTION, "leader-election", self._run_election(self._elector))
        log.info("manager started")

    async def _wait_for_cache_sync(self) -> None:
        timeout = self._options.cache_sync_timeout
        try:
            async with asyncio.timeout(timeout):
                while True:
                    pending = [name for name, cache in self._caches if not cache.has_synced()]
                    if not pending:
                        return
                    await asyncio.sleep(_CACHE_SYNC_POLL)
        except TimeoutError:
            raise CacheSyncTimeoutError(
                f"caches did not sync within {timeout:g}s: {', '.join(pending)}"
            ) from None

    async def _run_election(self, elector: LeaderElector) -> None:
        while True:
            await elector.run()
            # run() returns only when a renewal missed the deadline.
            lease = self._options.leader_election_id
            if self._options.leader_election_lost_is_fatal:
                raise LeaderElectionLostError(f"leader election lost: {lease}")
            log.warning("leader election lost: stopping leader-only runnables", lease=lease)
            self._elected.clear()
            assert self._groups is not None
            await self._groups.cancel_group(_Group.LEADER)

    async def _on_started_leading(self) -> None:
        log.info("elected leader", lease=self._options.leader_election_id)
        self._start_leader_runnables()

    def _start_leader_runnables(self) -> None:
        if self._stopping:
            return
        for entry in self._leader_runnables:
            self._spawn(_Group.LEADER, entry.name, entry.runnable.start())
        self._elected.set()

    def _spawn(self, group: _Group, name: str, coro: Coroutine[Any, Any, None]) -> None:
        assert self._groups is not None
        self._groups.spawn(group, name, coro)

    def _on_exit(self, name: str, exc: BaseException | None) -> None:
        if isinstance(exc, LeaderElectionLostError):
            self._fail(exc, fatal=True)
        elif isinstance(exc, ManagerError | CacheSyncTimeoutError):
            self._fail(exc)
        elif exc is None:
            self._fail(RunnableError(f"{name} exited unexpectedly"))
        elif isinstance(exc, asyncio.CancelledError):
            self._fail(RunnableError(f"{name} was cancelled unexpectedly"))
        else:
            error = RunnableError(f"{name} failed: {exc!r}")
            error.__cause__ = exc
            self._fail(error)

    def _fail(self, error: Exception, *, fatal: bool = False) -> None:
        log.error("stopping manager", error=str(error), cause=repr(error.__cause__))
        if self._error is None:
            self._error = error
        if fatal and self._fatal is None:
            self._fatal = error
            if self._fatal_signal is not None and not self._fatal_signal.done():
                self._fatal_signal.set_result(None)
        self.stop()

    # -- health --------------------------------------------------------------------

    async def _check_caches(self) -> None:
        if not self._caches_synced:
            raise CheckFailedError("caches have not synced")

    async def _check_runnables(self) -> None:
        if self._stop_requested:
            raise CheckFailedError("shutting down")
        if not self._runnables_started:
            raise CheckFailedError("runnables not started")
        for entry in self._runnables:
            hook = readiness_hook(entry.runnable)
            if hook is not None and not await hook():
                raise CheckFailedError(f"{entry.name} is not ready")

    async def _check_leader_election(self) -> None:
        assert self._elector is not None
        self._elector.check(
            max_tolerable_expired_lease=self._options.leader_election_health_tolerance
        )

    # -- construction helpers ------------------------------------------------------

    def _check_not_started(self) -> None:
        if self._started:
            raise RuntimeError("cannot add to a manager that has started")

    def _make_elector(
        self, lock: ResourceLock | None, metrics: SwitchMetric | None
    ) -> LeaderElector | None:
        options = self._options
        if not options.leader_election:
            return None
        if lock is None:
            raise ValueError("leader election needs a leader_election_lock")
        return LeaderElector(
            LeaderElectionConfig(
                lock=lock,
                callbacks=LeaderCallbacks(
                    on_started_leading=self._on_started_leading,
                    on_stopped_leading=self._on_stopped_leading,
                    on_new_leader=self._on_new_leader,
                ),
                lease_duration=options.lease_duration,
                renew_deadline=options.renew_deadline,
                retry_period=options.retry_period,
                release_on_cancel=options.leader_election_release_on_cancel,
                name=options.leader_election_id or lock.describe(),
                metrics=metrics,
            )
        )

    def _on_stopped_leading(self) -> None:
        log.info("leader election ended", lease=self._options.leader_election_id)

    def _on_new_leader(self, identity: str) -> None:
        log.info("leader observed", lease=self._options.leader_election_id, holder=identity)

    # -- signals -------------------------------------------------------------------

    @contextmanager
    def _signal_handlers(self) -> Iterator[None]:
        if not self._options.handle_signals:
            yield
            return
        loop = asyncio.get_running_loop()
        signals = (signal.SIGTERM, signal.SIGINT)
        for signum in signals:
            loop.add_signal_handler(signum, self._on_signal, signum)
        try:
            yield
        finally:
            for signum in signals:
                loop.remove_signal_handler(signum)

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if self._stop_requested:
            log.error("second signal, exiting at once", signal=name)
            os._exit(1)
        log.info("shutdown signal received", signal=name)
        self.stop()


def _default_name(obj: object) -> str:
    name = getattr(obj, "name", None)
    return name if isinstance(name, str) and name else type(obj).__name__
