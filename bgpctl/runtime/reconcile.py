"""The reconciler contract: a request in, a result or an exception out.

Mirrors controller-runtime pkg/reconcile. ``Request`` names one object (namespace is ""
for cluster-scoped kinds); ``Result(requeue_after)`` asks for a later re-run; raising
``TerminalError`` means "retrying will not help" and raising anything else means "retry
with backoff".

Upstream returns ``(Result, error)`` and ignores the result when the error is set; we
raise instead, so there is nothing to ignore. Upstream's deprecated ``Result.Requeue``
is left out on purpose: return ``requeue_after`` or raise.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """Names the object to reconcile; hashable, so the work queue can dedupe it.

    Attributes:
        namespace: The object's namespace; "" for cluster-scoped objects.
        name: The object's name.
    """

    namespace: str = ""
    name: str

    def __str__(self) -> str:
        """The cache key: ``"namespace/name"``, or ``"name"`` when cluster-scoped."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True, slots=True)
class Result:
    """What a successful reconcile asks for next.

    Attributes:
        requeue_after: Seconds after which to reconcile again; 0 (or less) means only
            when something changes.
    """

    requeue_after: float = 0.0


class TerminalError(Exception):
    """The reconcile failed in a way retrying cannot fix (typically bad user input).

    The controller does not requeue the request. Reconcilers should record a status
    condition and an Event explaining the problem before raising it; chain the cause
    with ``raise TerminalError(...) from err``.
    """


class Reconciler(Protocol):
    """Drives the world towards the state an object asks for."""

    async def reconcile(self, request: Request) -> Result:
        """Reconcile one object.

        Called with the same request never more than once at a time. Must be idempotent:
        it may run again for any reason.

        Returns:
            ``Result()`` when done, or ``Result(requeue_after=s)`` to run again in s seconds.

        Raises:
            TerminalError: Retrying will not help; the request is not requeued.
            Exception: Anything else; the request is retried with backoff.
        """
        ...


@dataclass(frozen=True, slots=True)
class ReconcilerFunc:
    """Adapts a coroutine function to ``Reconciler`` (controller-runtime ``reconcile.Func``)."""

    fn: Callable[[Request], Awaitable[Result]]

    async def reconcile(self, request: Request) -> Result:
        """Call the wrapped function."""
        return await self.fn(request)
