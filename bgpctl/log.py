"""structlog configuration: JSON lines in pods, readable console output in a terminal.

Log events are short stable strings ("watch closed", "peer added"); details go in
snake_case keys (``controller``, ``name``, ``peer``, ``prefix``). Context bound with
``structlog.contextvars`` (e.g. ``reconcile_id`` per reconcile) is merged into every line.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog

Format = Literal["json", "console"]


def configure(*, level: str = "info", fmt: Format | None = None) -> None:
    """Configure structlog and stdlib logging once for the process.

    Args:
        level: minimum level name (debug, info, warning, error).
        fmt: ``json`` or ``console``; default console on a TTY, JSON otherwise.
    """
    if fmt is None:
        fmt = "console" if sys.stderr.isatty() else "json"
    numeric = logging.getLevelNamesMapping()[level.upper()]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=sys.stderr)
