"""``duroxide run``'s compact view on stderr."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.text import Text

from .console import duration, err, note


class RunView:
    """``duroxide run``'s compact view on stderr: a live panel on a terminal, else a line per change."""

    def __init__(self, header: str, detail: str = "", refresh_per_second: float = 4.0, plain_interval_s: float = 5.0):
        self.header = header
        self.detail = detail
        self._stats: Any = None
        self.live: Live | None = None
        self.refresh_per_second = refresh_per_second
        self.plain_interval_s = plain_interval_s
        self._last_plain: tuple[int, ...] | None = None
        self._last_plain_at = 0.0
        self._started = time.monotonic()

    def __enter__(self) -> RunView:
        console = err()
        if console.is_terminal:
            # Log records and notes print through this same console (``err()``), which puts them
            # above the panel while it is live. Redirecting sys.stderr as well would hand ``err()``
            # a different stream, and so a second console whose lines the panel's redraw erases.
            self.live = Live(
                self._render(None),
                console=console,
                refresh_per_second=self.refresh_per_second,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self.live.__enter__()
        else:
            note(f"{self.header}  {self.detail}".rstrip())
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self.live is not None:
            self.live.__exit__(*exc_info)
            self.live = None
        if self._stats is not None:
            note(_stats_line(self._stats))

    def update(self, stats: Any) -> None:
        self._stats = stats
        if self.live is not None:
            self.live.update(self._render(stats))
            return
        counts = _stats_tuple(stats)
        now = time.monotonic()
        if counts != self._last_plain and now - self._last_plain_at >= self.plain_interval_s:
            self._last_plain, self._last_plain_at = counts, now
            note(_stats_line(stats))

    def _render(self, stats: Any) -> Any:
        uptime = duration(int((time.monotonic() - self._started) * 1000))
        lines = [Text.assemble((self.header, "bold"), (f"   up {uptime}   Ctrl-C to stop", "dim"))]
        if self.detail:
            lines.append(Text(self.detail, style="dim"))
        if stats is not None:
            lines.append(Text(_stats_line(stats)))
        return Group(*lines)


def _stats_tuple(stats: Any) -> tuple[int, ...]:
    return tuple(getattr(stats, name, 0) for name in _STAT_FIELDS)


_STAT_FIELDS = (
    "instances_started",
    "instances_completed",
    "instances_failed",
    "instances_cancelled",
    "turns",
    "activities_running",
    "activities_completed",
    "activities_failed",
)


def _stats_line(stats: Any) -> str:
    s = {name: getattr(stats, name, 0) for name in _STAT_FIELDS}
    return (
        f"instances: {s['instances_started']} started, {s['instances_completed']} completed, "
        f"{s['instances_failed']} failed, {s['instances_cancelled']} cancelled | turns: {s['turns']} | "
        f"activities: {s['activities_running']} running, {s['activities_completed']} done, {s['activities_failed']} failed"
    )
