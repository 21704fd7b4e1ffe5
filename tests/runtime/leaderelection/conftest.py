"""Helpers for leader-election unit tests: a candidate with a callback journal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from bgpctl.runtime.leaderelection import LeaderCallbacks, LeaderElectionConfig, LeaderElector
from bgpctl.testing.leaselock import InMemoryLeaseServer, virtual_wall_clock

LEASE = 15.0
RENEW = 10.0
RETRY = 2.0


class SwitchRecorder:
    """A SwitchMetric that remembers every switch."""

    def __init__(self) -> None:
        self.states: list[tuple[str, bool]] = []

    def on(self, name: str) -> None:
        self.states.append((name, True))

    def off(self, name: str) -> None:
        self.states.append((name, False))


class Candidate:
    """An elector plus a journal of what its callbacks saw, in order."""

    def __init__(
        self,
        server: InMemoryLeaseServer,
        identity: str,
        *,
        on_started_leading: Callable[[], Coroutine[Any, Any, None]] | None = None,
        **config: Any,
    ) -> None:
        self.lock = server.lock(identity)
        self.journal: list[str] = []
        self.new_leaders: list[str] = []
        self.leading = asyncio.Event()
        self.stopped = asyncio.Event()
        self.metric = SwitchRecorder()
        self.started_at: float | None = None
        options: dict[str, Any] = {
            "lease_duration": LEASE,
            "renew_deadline": RENEW,
            "retry_period": RETRY,
            "release_on_cancel": True,
            "name": "test-lease",
            "metrics": self.metric,
            "wall_clock": virtual_wall_clock,
        }
        options.update(config)
        self.elector = LeaderElector(
            LeaderElectionConfig(
                lock=self.lock,
                callbacks=LeaderCallbacks(
                    on_started_leading=on_started_leading or self._started,
                    on_stopped_leading=self._stopped,
                    on_new_leader=self.new_leaders.append,
                ),
                **options,
            )
        )
        self.task: asyncio.Task[None] | None = None

    async def _started(self) -> None:
        self.journal.append("started")
        self.started_at = asyncio.get_running_loop().time()
        self.leading.set()
        try:
            await asyncio.Event().wait()
        finally:
            self.journal.append("leading cancelled")

    def _stopped(self) -> None:
        self.journal.append("stopped")
        self.stopped.set()

    def start(self) -> asyncio.Task[None]:
        self.task = asyncio.create_task(self.elector.run(), name=self.lock.identity)
        return self.task

    async def cancel(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.wait([self.task])


@pytest.fixture
def server() -> InMemoryLeaseServer:
    return InMemoryLeaseServer()


@pytest.fixture
async def candidates(server: InMemoryLeaseServer) -> Any:
    """Factory of candidates; any still running at the end is cancelled and awaited."""
    made: list[Candidate] = []

    def make(identity: str, **config: Any) -> Candidate:
        candidate = Candidate(server, identity, **config)
        made.append(candidate)
        return candidate

    yield make
    for candidate in made:
        if candidate.task is not None and not candidate.task.done():
            await candidate.cancel()
