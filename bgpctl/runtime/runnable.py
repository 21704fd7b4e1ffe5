"""What the manager runs: the Runnable protocol and its optional abilities.

Mirrors controller-runtime ``pkg/manager`` (``Runnable``, ``LeaderElectionRunnable``,
``hasCache``) and ``runnable_group.go`` (:class:`RunnableGroups`: runnables filed by
group, each watched by a supervisor, stopped group by group).

* A :class:`Runnable` is anything with ``async def start()`` that runs until it is
  cancelled. Cancellation is the stop signal (upstream's ``ctx.Done()``); a runnable
  that must drain does so when cancelled, then lets ``CancelledError`` propagate.
* ``needs_leader_election`` (optional attribute) puts a runnable in the group that only
  runs while this process leads.
* ``restartable = False`` (optional attribute) says ``start`` runs only once; a manager
  that survives a lost lease refuses such a leader-only runnable (wrap it in
  :class:`Rebuilding`).
* ``ready()`` (optional coroutine) is polled by the manager's ``/readyz``.
* A :class:`Cache` also answers ``has_synced()``; the manager starts caches before any
  runnable and waits for them to sync.
* A :class:`Server` (metrics, probes) is started first and waited for until bound.

Upstream: a runnable without ``NeedLeaderElection`` defaults to *needing* election;
we default to not needing it, because almost everything bgpctl runs is per node (only
peering-policy materialisation wants a single leader), so
the exception should be the one that is declared.
Upstream: ``Start`` returning nil is a normal end; here ``start`` returning while the
manager runs is an unexpected exit that stops the manager, because everything we run
is long-lived and a silent exit would leave a replica half working.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from bgpctl.runtime import clock


class CacheSyncTimeoutError(Exception):
    """Caches or event sources did not sync within the allowed time; nothing was started.

    Raised by the manager (its caches) and by a controller (its sources) alike, so one
    ``except`` catches both.
    """


class Runnable(Protocol):
    """A long-lived component the manager starts, supervises and cancels."""

    async def start(self) -> None:
        """Run until cancelled; raise on failure. Never return on your own."""
        ...


class Cache(Protocol):
    """An informer or informer cache: started first, waited for until synced."""

    async def start(self) -> None:
        """Run until cancelled (list, watch, deliver)."""
        ...

    def has_synced(self) -> bool:
        """True once the initial list has been delivered."""
        ...


class Server(Protocol):
    """A runnable that binds a socket (metrics, probes): started before everything else.

    The manager waits for :meth:`wait_serving` before it starts the caches, so probes
    answer (not ready) while the process is still starting.
    """

    name: str

    async def start(self) -> None:
        """Bind, then serve until cancelled."""
        ...

    async def wait_serving(self) -> tuple[str, int]:
        """Wait until bound; the bound ``(host, port)``."""
        ...

    @property
    def address(self) -> tuple[str, int] | None:
        """The bound ``(host, port)``, or None before binding."""
        ...


def needs_leader_election(runnable: object) -> bool:
    """Whether ``runnable`` declares ``needs_leader_election = True`` (default False)."""
    return bool(getattr(runnable, "needs_leader_election", False))


def restartable(runnable: object) -> bool:
    """Whether ``start`` may be called again after it ended (``restartable``, default True)."""
    return bool(getattr(runnable, "restartable", True))


def readiness_hook(runnable: object) -> Callable[[], Awaitable[bool]] | None:
    """The runnable's ``ready()`` coroutine function, if it has one."""
    hook = getattr(runnable, "ready", None)
    return hook if callable(hook) else None


@dataclass(frozen=True, slots=True)
class RunnableFunc:
    """Adapts a coroutine function to :class:`Runnable` (upstream ``RunnableFunc``).

    Attributes:
        func: Called once by :meth:`start`; must run until cancelled.
        needs_leader_election: Run only while this process leads.
    """

    func: Callable[[], Coroutine[Any, Any, None]]
    needs_leader_election: bool = False

    async def start(self) -> None:
        """Run ``func``."""
        await self.func()


ExitReport = Callable[[str, BaseException | None], None]
"""Told ``(name, exception)`` when a supervised runnable fails, or ``(name, None)`` when
it returns; a ``CancelledError`` instance means it was cancelled by nobody we know."""


class RunnableGroups:
    """The manager's tasks, filed by start group, all owned by one ``TaskGroup``.

    Each runnable runs under a supervisor that reports an exception, an early return
    or a cancellation nobody asked for through ``report`` instead of raising, so the
    task group never aborts on its own and the manager keeps control of the stop
    order. ``CancelledError`` from a requested cancellation propagates untouched.

    Args:
        task_group: Owner of every task.
        report: Called for each unexpected exit (see :data:`ExitReport`).
        stopping: Whether exits are expected now (the manager is stopping).
    """

    def __init__(
        self,
        task_group: asyncio.TaskGroup,
        *,
        report: ExitReport,
        stopping: Callable[[], bool],
    ) -> None:
        self._tg = task_group
        self._report = report
        self._stopping = stopping
        self._tasks: defaultdict[int, list[asyncio.Task[None]]] = defaultdict(list)

    def spawn(self, group: int, name: str, coro: Coroutine[Any, Any, None]) -> None:
        """Start ``coro`` as a supervised task of ``group``."""
        task = self._tg.create_task(self.supervise(name, coro), name=f"manager: {name}")
        self._tasks[group].append(task)

    async def supervise(
        self, name: str, coro: Coroutine[Any, Any, None], *, may_return: bool = False
    ) -> None:
        """Run ``coro``; report an exception, or a return unless ``may_return``."""
        try:
            await coro
        except Exception as exc:
            self._report(name, exc)
        except asyncio.CancelledError as exc:
            task = asyncio.current_task()
            if not self._stopping() and task is not None and not task.cancelling():
                self._report(name, exc)
            raise
        else:
            if not may_return and not self._stopping():
                self._report(name, None)

    async def drain(
        self, order: Iterable[int], *, deadline: float, abort: asyncio.Future[None]
    ) -> bool:
        """Cancel the groups one by one in ``order``, waiting for each to end.

        Returns False when ``deadline`` (loop time) passes or ``abort`` completes
        first; the remaining tasks are then left to :meth:`cancel_all`.
        """
        for group in order:
            pending = {task for task in self._tasks[group] if not task.done()}
            for task in pending:
                task.cancel()
            while pending:
                remaining = deadline - clock.now()
                if abort.done() or remaining <= 0:
                    return False
                done, _ = await asyncio.wait(
                    pending | {abort}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
                pending -= done
        return True

    async def cancel_group(self, group: int) -> None:
        """Cancel one group's tasks and wait for them (a requested stop, not reported)."""
        tasks, self._tasks[group] = self._tasks[group], []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def cancel_all(self, order: Iterable[int]) -> None:
        """Cancel every task at once (again, for those already cancelled)."""
        for group in order:
            for task in self._tasks[group]:
                task.cancel()


class Rebuilding:
    """A leader-only runnable that builds a fresh runnable on every start.

    Controllers start once; a manager that survives a lost lease starts its leader-only
    runnables again when it wins the lease back, so it needs a new one each time.

    Args:
        build: Makes the runnable to run (e.g. builds a controller).
        name: For logs and errors.
    """

    needs_leader_election = True

    def __init__(self, build: Callable[[], Runnable], *, name: str) -> None:
        self._build = build
        self.name = name
        self.current: Runnable | None = None

    async def start(self) -> None:
        """Build and run a fresh runnable until it ends or is cancelled."""
        self.current = self._build()
        await self.current.start()
