"""Full re-reconcile on every new GoBGP connection generation.

A new generation means gobgpd may have restarted and lost everything (the Go original
missed restarts between two health polls, and re-added every peer from the spec alone).
This runnable waits for the generation to change and then triggers every per-node
controller's resync ``Channel`` (whose handler enqueues every object of its kind), so
the configuration is re-applied (StartBgp) and every session re-added, each by its own
reconciler with its own rules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import structlog

from bgpctl.gobgp.client import GoBGPClient
from bgpctl.runtime.source import Channel

log = structlog.get_logger(__name__)


class GenerationWatcher:
    """Runnable: on each new GoBGP generation, trigger ``channels``.

    Args:
        gobgp: The connected (or connecting) GoBGP client.
        channels: Resync channels, one per per-node controller.
        sweeps: Run at the first connection and on every new generation, after the
            channels are triggered (e.g. deleting orphaned neighbors); a failure is
            logged and retried at the next generation.
    """

    def __init__(
        self,
        gobgp: GoBGPClient,
        channels: Sequence[Channel],
        sweeps: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        self._gobgp = gobgp
        self._channels = tuple(channels)
        self._sweeps = tuple(sweeps)
        self.name = "gobgp-generation-watcher"

    def trigger_all(self) -> None:
        """Re-enqueue every object of every per-node controller."""
        for channel in self._channels:
            channel.trigger()

    async def start(self) -> None:
        """Wait for generation changes until cancelled."""
        seen = await self._gobgp.wait_connected()
        await self._sweep()
        while True:
            seen = await self._gobgp.wait_generation_change(seen)
            log.info("GoBGP connection generation changed: full re-reconcile", generation=seen)
            self.trigger_all()
            await self._sweep()

    async def _sweep(self) -> None:
        for sweep in self._sweeps:
            try:
                await sweep()
            except Exception as err:  # noqa: BLE001 (logged; the next generation retries)
                log.warning("resync sweep failed", error=repr(err))
