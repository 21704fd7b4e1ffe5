"""Shared fixtures for runtime tests.

Both fixtures are opt-in (``pytestmark = pytest.mark.usefixtures(...)``) so that they
only affect the modules that ask for them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, MutableMapping
from typing import Any

import pytest
from structlog.testing import capture_logs


@pytest.fixture
async def no_leaked_tasks() -> AsyncIterator[None]:
    """Fail the test if it leaves asyncio tasks running (they are cancelled first)."""
    yield
    current = asyncio.current_task()
    leaked = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    for task in leaked:
        task.cancel()
    if leaked:
        await asyncio.gather(*leaked, return_exceptions=True)
        pytest.fail(f"test leaked asyncio tasks: {leaked!r}")


@pytest.fixture
def quiet_logs() -> Iterator[list[MutableMapping[str, Any]]]:
    """Capture structlog events instead of rendering them (rich tracebacks are slow)."""
    with capture_logs() as logs:
        yield logs
