"""The ``--log-level`` and ``--log-format`` choices shared by the commands (listed in --help)."""

from __future__ import annotations

import enum


class LogLevel(enum.StrEnum):
    """Minimum level of the lines written."""

    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


class LogFormat(enum.StrEnum):
    """How lines are rendered: one JSON object per line, or readable console text."""

    json = "json"
    console = "console"
