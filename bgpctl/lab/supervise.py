"""Keep the lab's components running, like a kubelet: restart what exits, count restarts.

``Supervisor.tick()`` (called every half second by ``bgp lab up``) restarts any gobgpd or
``bgp run`` that has exited — whatever its exit status, as ``restartPolicy: Always`` —
after a back-off: at once the first time, then 1 s, 2 s, 4 s ... up to 30 s; a component
that has run 60 s without exiting starts over at no delay. Each restart is counted and
the whole state is written to ``<workdir>/status.json``, which ``bgp lab status`` prints
and ``bgp lab restart`` reads to find the process to signal. The running lab's work
directory is recorded in ``STATE_POINTER`` so those commands need no arguments.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATE_POINTER = Path("/run/bgplab.json")
"""Where the running lab records its work directory and pid (one lab per host)."""
COMPONENTS = ("gobgpd", "agent")
MAX_BACKOFF = 30.0
RESET_AFTER = 60.0


@dataclass
class Component:
    """One supervised process of one node."""

    node: str
    kind: str
    pid: int | None = None
    restarts: int = 0
    started_at: float = 0.0
    crashes: int = 0
    restart_at: float | None = None
    last_exit: int | None = None


@dataclass
class Supervisor:
    """Restarts exited components; see the module docstring.

    Args:
        workdir: The lab's work directory (``status.json`` goes there).
        poll: ``(node, kind) -> exit status or None while running``.
        start: ``(node, kind) -> new pid``; starts the component again.
        out: Progress lines.
    """

    workdir: Path
    poll: Callable[[str, str], int | None]
    start: Callable[[str, str], int]
    out: Callable[[str], None] = print
    components: dict[tuple[str, str], Component] = field(default_factory=dict)

    def track(self, node: str, kind: str, pid: int) -> None:
        """Register a component started by the lab itself."""
        self.components[(node, kind)] = Component(node, kind, pid, started_at=time.monotonic())
        self.write()

    def tick(self) -> None:
        """Restart what has exited and is due; write the state when it changed."""
        now = time.monotonic()
        changed = False
        for c in self.components.values():
            if c.restart_at is None:
                status = self.poll(c.node, c.kind)
                if status is None:
                    continue
                if now - c.started_at >= RESET_AFTER:
                    c.crashes = 0
                delay = 0.0 if c.crashes == 0 else min(MAX_BACKOFF, 2.0 ** (c.crashes - 1))
                c.crashes += 1
                c.last_exit, c.pid, c.restart_at = status, None, now + delay
                self.out(f"{c.kind} of {c.node} exited ({status}); restarting in {delay:g}s")
                changed = True
            if c.restart_at is not None and now >= c.restart_at:
                try:
                    c.pid = self.start(c.node, c.kind)
                except RuntimeError as exc:  # did not come up: try again after a back-off
                    c.crashes += 1
                    c.restart_at = now + min(MAX_BACKOFF, 2.0 ** (c.crashes - 1))
                    self.out(f"{c.kind} of {c.node} failed to start: {exc}")
                    continue
                c.restarts += 1
                c.started_at, c.restart_at = time.monotonic(), None
                self.out(f"{c.kind} of {c.node} restarted (restart {c.restarts})")
                changed = True
        if changed:
            self.write()

    def write(self) -> None:
        """Write ``status.json`` atomically."""
        state = {
            "pid": os.getpid(),
            "components": [
                {
                    "node": c.node,
                    "component": c.kind,
                    "pid": c.pid,
                    "running": c.pid is not None,
                    "restarts": c.restarts,
                    "lastExit": c.last_exit,
                }
                for c in self.components.values()
            ],
        }
        path = self.workdir / "status.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(path)


def record_running(workdir: Path) -> None:
    """Point ``STATE_POINTER`` at this lab."""
    STATE_POINTER.write_text(json.dumps({"workdir": str(workdir), "pid": os.getpid()}))


def forget_running() -> None:
    """Remove ``STATE_POINTER`` if it points at this process's lab."""
    try:
        if json.loads(STATE_POINTER.read_text()).get("pid") == os.getpid():
            STATE_POINTER.unlink()
    except (FileNotFoundError, ValueError):
        pass


def running_status() -> dict[str, Any]:
    """The running lab's ``status.json``.

    Raises:
        RuntimeError: No lab is running.
    """
    try:
        pointer = json.loads(STATE_POINTER.read_text())
        status: dict[str, Any] = json.loads((Path(pointer["workdir"]) / "status.json").read_text())
    except (FileNotFoundError, ValueError, KeyError) as exc:
        raise RuntimeError("no bgp lab is running (start one with `bgp lab up`)") from exc
    return status


def signal_component(node: str, kind: str, *, kill: bool) -> int:
    """SIGTERM (or SIGKILL with ``kill``) one component of the running lab; returns its pid.

    Raises:
        RuntimeError: No lab, no such node/component, or it is not running right now.
    """
    if kind not in COMPONENTS:
        raise RuntimeError(f"unknown component {kind!r}")
    for c in running_status()["components"]:
        if c["node"] == node and c["component"] == kind:
            if not c["running"] or c["pid"] is None:
                raise RuntimeError(f"{kind} of {node} is not running (being restarted)")
            os.kill(int(c["pid"]), signal.SIGKILL if kill else signal.SIGTERM)
            return int(c["pid"])
    raise RuntimeError(f"no node {node!r} in the running lab")


def format_status(status: dict[str, Any]) -> str:
    """A text table: node, component, state, pid, restarts, last exit."""
    rows = [["NODE", "COMPONENT", "STATE", "PID", "RESTARTS", "LAST EXIT"]]
    for c in status["components"]:
        rows.append(
            [
                c["node"],
                c["component"],
                "Running" if c["running"] else "Restarting",
                str(c["pid"] or "-"),
                str(c["restarts"]),
                "-" if c["lastExit"] is None else str(c["lastExit"]),
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
