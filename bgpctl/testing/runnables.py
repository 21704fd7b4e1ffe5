"""Scriptable runnables and caches for manager tests.

Each fake writes ``(loop time, "<name> <event>")`` into a shared :class:`Journal`, so
tests assert on order and timing of starts and stops instead of on mock calls.
Events: ``started``, ``synced`` (caches), ``stopping`` (cancel received),
``stopped`` (drain finished), ``aborted`` (cancelled again while draining).
"""

from __future__ import annotations

import asyncio

from bgpctl.runtime import clock


class Journal:
    """Ordered record of what the fakes did, with loop times."""

    def __init__(self) -> None:
        self.entries: list[tuple[float, str]] = []

    def write(self, event: str) -> None:
        self.entries.append((clock.now(), event))

    def events(self, suffix: str | None = None) -> list[str]:
        """Event strings in order, optionally only those ending with ``suffix``."""
        return [e for _, e in self.entries if suffix is None or e.endswith(suffix)]

    def time_of(self, event: str) -> float:
        """Loop time of the first ``event``."""
        return next(t for t, e in self.entries if e == event)


class FakeRunnable:
    """A runnable that runs until cancelled, or crashes/exits when told to.

    Args:
        name: Prefix of its journal events.
        journal: Where to write.
        needs_leader_election: Put it in the leader-only group.
        drain: Seconds it takes to stop once cancelled.
        fail_after: Raise ``RuntimeError`` this many seconds after starting.
        exit_after: Return this many seconds after starting.
        ready: Initial answer of :meth:`ready`.
    """

    def __init__(
        self,
        name: str,
        journal: Journal,
        *,
        needs_leader_election: bool = False,
        drain: float = 0.0,
        fail_after: float | None = None,
        exit_after: float | None = None,
        ready: bool = True,
    ) -> None:
        self.name = name
        self.journal = journal
        self.needs_leader_election = needs_leader_election
        self.drain = drain
        self.fail_after = fail_after
        self.exit_after = exit_after
        self.is_ready = ready

    async def start(self) -> None:
        self.journal.write(f"{self.name} started")
        try:
            if self.fail_after is not None:
                await asyncio.sleep(self.fail_after)
                raise RuntimeError(f"{self.name} crashed")
            if self.exit_after is not None:
                await asyncio.sleep(self.exit_after)
                self.journal.write(f"{self.name} exited")
                return
            await asyncio.Future()
        except asyncio.CancelledError:
            self.journal.write(f"{self.name} stopping")
            try:
                await asyncio.sleep(self.drain)
            except asyncio.CancelledError:
                self.journal.write(f"{self.name} aborted")
                raise
            self.journal.write(f"{self.name} stopped")
            raise

    async def ready(self) -> bool:
        return self.is_ready


class FakeCache(FakeRunnable):
    """A cache that reports synced ``sync_after`` seconds after starting (None: never)."""

    def __init__(
        self, name: str, journal: Journal, *, sync_after: float | None = 0.0, drain: float = 0.0
    ) -> None:
        super().__init__(name, journal, drain=drain)
        self.sync_after = sync_after
        self._synced = False

    async def start(self) -> None:
        self.journal.write(f"{self.name} started")
        try:
            if self.sync_after is not None:
                await asyncio.sleep(self.sync_after)
                self._synced = True
                self.journal.write(f"{self.name} synced")
            await asyncio.Future()
        except asyncio.CancelledError:
            self.journal.write(f"{self.name} stopping")
            await asyncio.sleep(self.drain)
            self.journal.write(f"{self.name} stopped")
            raise

    def has_synced(self) -> bool:
        return self._synced
