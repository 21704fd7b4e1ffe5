"""The one time source of bgpctl: the running event loop's monotonic clock.

Mirrors the role of k8s.io/utils/clock. Upstream injects a ``Clock`` and fakes it in
tests; we read ``loop.time()`` everywhere, so that ``looptime`` virtualises all of time
in unit tests at once (sleeps, timers and "now" alike) and no component needs a clock
parameter. Outside a running loop :func:`now` falls back to ``time.monotonic()``, which
is what the default loop reads.

Code that waits uses the loop directly (``asyncio.sleep``, ``loop.call_at``); code that
only needs "now" calls :func:`now`.
"""

from __future__ import annotations

import asyncio
import time


def now() -> float:
    """Monotonic seconds: the running loop's time, else ``time.monotonic()``."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()
