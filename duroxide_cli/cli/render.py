"""The only place that prints: rich views and ``--json`` from the same data.

stdout carries only the result (an id, a JSON document, a table); progress, logs and errors go
to stderr. When a stream is not a terminal nothing is coloured, wrapped or truncated (rich
honours ``NO_COLOR`` on terminals too).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..history import HistoryEvent
from . import timeline

_STATUS_STYLE = {
    "Pending": "yellow",
    "Running": "cyan",
    "Completed": "green",
    "Failed": "red",
    "Cancelled": "magenta",
}

_cache: dict[str, tuple[TextIO, Console]] = {}


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _console(name: str, stream: TextIO) -> Console:
    cached = _cache.get(name)
    if cached is not None and cached[0] is stream:
        return cached[1]
    terminal = _is_terminal(stream)
    console = Console(
        file=stream,
        highlight=False,
        soft_wrap=not terminal,
        width=None if terminal else 1_000_000,
        force_terminal=terminal or None,
        no_color=None if terminal else True,
        emoji=False,
    )
    _cache[name] = (stream, console)
    return console


def out() -> Console:
    """The stdout console (the result)."""
    return _console("out", sys.stdout)


def err() -> Console:
    """The stderr console (progress, logs, errors)."""
    return _console("err", sys.stderr)


def stderr_is_terminal() -> bool:
    return _is_terminal(sys.stderr)


# -- plain results and messages -----------------------------------------------------------------


def result_line(text: str) -> None:
    """One line of plain result on stdout (an instance id, a path)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def json_document(document: Any) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def json_line(document: Any) -> None:
    """One JSON Lines record on stdout (streaming commands)."""
    sys.stdout.write(json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str) + "\n")
    sys.stdout.flush()


def error(message: str) -> None:
    err().print(Text.assemble(("error: ", "bold red"), message))


def warning(message: str) -> None:
    err().print(Text.assemble(("warning: ", "bold yellow"), message))


def note(message: str, style: str = "") -> None:
    """A progress or hint line on stderr."""
    err().print(Text(message, style=style))


def user_traceback(text: str) -> None:
    """The traceback of the user's own code (an app that fails to import)."""
    sys.stderr.write(text if text.endswith("\n") else text + "\n")
    sys.stderr.flush()


class ConsoleLogHandler(logging.Handler):
    """Log records through the stderr console, so they scroll above ``run``'s live view."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            err().print(Text(self.format(record), style=_LOG_STYLE.get(record.levelno, "")), soft_wrap=True)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


_LOG_STYLE = {logging.ERROR: "red", logging.CRITICAL: "bold red", logging.WARNING: "yellow", logging.DEBUG: "dim"}


# -- instances ------------------------------------------------------------------------------------


def state_document(state: Any) -> dict[str, Any]:
    """An OrchestrationState as its JSON object (field names kept)."""
    return dataclasses.asdict(state)


def instance_state(state: Any, as_json: bool) -> None:
    """``status`` / ``wait``: one instance."""
    if as_json:
        json_document(state_document(state))
        return
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("instance", escape(state.instance_id))
    table.add_row("orchestration", f"{escape(state.name)} {escape(state.version or '')}".rstrip())
    table.add_row("status", status_text(state.status))
    table.add_row("execution", str(state.execution_id))
    table.add_row("created", format_time(state.created_at_ms))
    table.add_row("updated", format_time(state.updated_at_ms))
    if state.custom_status is not None:
        table.add_row("custom status", escape(timeline.pretty(state.custom_status)))
    if state.status == "Completed":
        table.add_row("output", escape(timeline.pretty(state.output)))
    if state.error:
        label = "waiting" if state.status in ("Pending", "Running") else "error"
        table.add_row(label, Text(state.error, style="red" if label == "error" else "yellow"))
    failure = getattr(state, "failure", None)
    if failure is not None and getattr(failure, "details", ""):
        table.add_row("details", Text(failure.details.rstrip(), style="dim"))
    out().print(table)


def instance_list(states: Sequence[Any], as_json: bool) -> None:
    """``list``: instances, newest first."""
    if as_json:
        json_document([state_document(s) for s in states])
        return
    if not states:
        note("no instances")
        return
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("instance", "orchestration", "version", "status", "exec", "created", "updated", "note"):
        table.add_column(column, overflow="fold" if column == "instance" else "ellipsis", no_wrap=column != "instance")
    for s in states:
        table.add_row(
            escape(s.instance_id),
            escape(s.name),
            escape(s.version or ""),
            status_text(s.status),
            str(s.execution_id),
            format_time(s.created_at_ms),
            format_time(s.updated_at_ms),
            escape(s.error or ""),
        )
    out().print(table)


def final_state_line(state: Any) -> None:
    """On stderr, after ``execute`` or ``start --wait``: how the instance ended."""
    line = Text.assemble(status_text(state.status), f"  {state.instance_id}")
    if state.error:
        line.append(f"  {state.error}", style="red")
    err().print(line)


def metrics(metrics: Any, depths: Any, as_json: bool) -> None:
    """``metrics``: instances by status and queue depths."""
    queues = {"orchestrator": depths.orchestrator, "worker": depths.worker, "timer": depths.timer}
    if as_json:
        json_document({"by_status": dict(metrics.by_status), "total": metrics.total, "queues": queues})
        return
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("instances")
    table.add_column("count", justify="right")
    for status in ("Pending", "Running", "Completed", "Failed", "Cancelled"):
        table.add_row(status_text(status), str(metrics.by_status.get(status, 0)))
    for status, count in sorted(metrics.by_status.items()):
        if status not in _STATUS_STYLE:
            table.add_row(escape(status), str(count))
    table.add_row(Text("total", style="bold"), str(metrics.total))
    queue_table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    queue_table.add_column("queue")
    queue_table.add_column("depth", justify="right")
    queue_table.add_row("orchestrator", str(depths.orchestrator))
    queue_table.add_row("worker (activities)", str(depths.worker))
    queue_table.add_row("timer (not yet due)", str(depths.timer))
    out().print(Group(table, queue_table))


def status_text(status: str) -> Text:
    return Text(status, style=_STATUS_STYLE.get(status, ""))


def format_time(epoch_ms: int | None) -> str:
    if not epoch_ms:
        return ""
    seconds = epoch_ms / 1000
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds)) + f".{epoch_ms % 1000:03d}"


# -- history ----------------------------------------------------------------------------------------


def history_table(instance_id: str, execution_id: int, events: Sequence[HistoryEvent], as_json: bool) -> None:
    """``history show``: the events of one execution."""
    if as_json:
        json_document(timeline.export_document(instance_id, execution_id, events))
        return
    console = out()
    start = events[0].timestamp_ms if events else 0
    console.print(Text(f"{instance_id}  execution {execution_id}  started {format_time(start)}", style="bold"))
    completions = timeline.completed_by(events)
    by_id = {e.event_id: e for e in events}
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("#", justify="right")
    table.add_column("time", justify="right")
    table.add_column("kind", no_wrap=True)
    table.add_column("name", no_wrap=True)
    table.add_column("details", overflow="ellipsis", no_wrap=True, max_width=70 if console.is_terminal else None)
    table.add_column("link", no_wrap=True)
    for event in events:
        table.add_row(
            str(event.event_id),
            timeline.offset_text(event, start),
            Text(event.kind, style=_kind_style(event.kind)),
            escape(timeline.event_name(event, by_id)),
            escape(timeline.event_details(event)),
            timeline.link_text(event, completions),
        )
    console.print(table)


def history_event_line(
    event: HistoryEvent,
    start_ms: int,
    *,
    name: str | None = None,
    execution_id: int | None = None,
    to_stderr: bool = False,
    prefix: str = "",
) -> None:
    """One event as a line: ``history tail`` (stdout) and ``execute``'s live view (stderr)."""
    console = err() if to_stderr else out()
    link = f"completes #{event.source_event_id}" if event.source_event_id is not None else ""
    line = Text()
    if prefix:
        line.append(prefix, style="dim")
    if execution_id is not None and execution_id > 1:
        line.append(f"[exec {execution_id}] ", style="dim")
    line.append(f"#{event.event_id:<3} ", style="bold")
    line.append(f"{timeline.offset_text(event, start_ms):>9}  ", style="dim")
    line.append(event.kind, style=_kind_style(event.kind))
    name = timeline.event_name(event) if name is None else name
    if name:
        line.append(f"  {name}")
    details = timeline.event_details(event)
    if details:
        line.append(f"  {_clip(details, console)}", style="dim")
    if link:
        line.append(f"  ({link})", style="dim")
    console.print(line)


def history_event_json(event: HistoryEvent, execution_id: int) -> None:
    """One event as a JSON Lines record (``history tail --json``)."""
    json_line({**event.to_json(), "execution_id": execution_id})


def history_inspect(
    instance_id: str, execution_id: int, events: Sequence[HistoryEvent], selected: Sequence[HistoryEvent], now_ms: int, as_json: bool
) -> None:
    """``history inspect``: events in depth, with timings and the work still pending."""
    completions = timeline.completed_by(events)
    by_id = {e.event_id: e for e in events}
    pending = timeline.pending_work(events)
    if as_json:
        json_document(
            {
                "instance_id": instance_id,
                "execution_id": execution_id,
                "events": [_inspect_record(e, by_id, completions) for e in selected],
                "pending": [dataclasses.asdict(p) for p in pending],
            }
        )
        return
    console = out()
    start = events[0].timestamp_ms if events else 0
    for event in selected:
        record = _inspect_record(event, by_id, completions)
        head = Text.assemble((f"#{event.event_id} ", "bold"), (event.kind, _kind_style(event.kind)))
        name = timeline.event_name(event, by_id)
        if name:
            head.append(f"  {name}")
        console.print(head)
        facts = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 2))
        facts.add_column(style="dim")
        facts.add_column()
        facts.add_row("recorded", f"{format_time(event.timestamp_ms)} ({timeline.offset_text(event, start)})")
        if "scheduled_by" in record:
            facts.add_row("completes", f"#{record['scheduled_by']} ({record['duration_ms']} ms after it was scheduled)")
        if "completed_by" in record:
            facts.add_row("completed by", f"#{record['completed_by']} after {record['duration_ms']} ms")
        for key, value in timeline.event_payload(event).items():
            if key == "failure" and isinstance(value, dict):
                facts.add_row("error", escape(f"{value.get('error_type')}: {value.get('message')}"))
                if value.get("details"):
                    facts.add_row("traceback", Text(str(value["details"]).rstrip(), style="dim"))
            elif key == "fire_at_ms":
                facts.add_row("fires at", format_time(value))
            else:
                facts.add_row(key, escape(timeline.pretty(value)))
        console.print(facts)
    if len(selected) != 1 or pending:
        _pending_table(pending, now_ms)


def _inspect_record(event: HistoryEvent, by_id: dict[int, HistoryEvent], completions: dict[int, int]) -> dict[str, Any]:
    record: dict[str, Any] = {"event": event.to_json()}
    source = event.source_event_id
    if source is not None and source in by_id:
        record["scheduled_by"] = source
        record["duration_ms"] = event.timestamp_ms - by_id[source].timestamp_ms
    if event.event_id in completions and completions[event.event_id] in by_id:
        done = by_id[completions[event.event_id]]
        record["completed_by"] = done.event_id
        record["duration_ms"] = done.timestamp_ms - event.timestamp_ms
    return record


def _pending_table(pending: Sequence[timeline.PendingItem], now_ms: int) -> None:
    console = out()
    if not pending:
        console.print(Text("pending: nothing (the execution has ended or waits for no work)", style="dim"))
        return
    table = Table(title="pending work", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("#", "kind", "name", "since", "detail"):
        table.add_column(column)
    for item in pending:
        if item.fire_at_ms is not None:
            due = item.fire_at_ms - now_ms
            detail = f"fires {format_time(item.fire_at_ms)} ({'in ' + _duration(due) if due >= 0 else _duration(-due) + ' overdue'})"
        else:
            detail = item.detail
        table.add_row(str(item.event_id), item.kind, escape(item.name), f"{_duration(now_ms - item.since_ms)} ago", escape(detail))
    console.print(table)


# -- replay -------------------------------------------------------------------------------------------


def replay_report(report: Any, causes: Iterable[str], as_json: bool) -> None:
    """``replay``: each recorded event with what the code did, and the first divergence."""
    if as_json:
        json_document(report.to_json())
        return
    console = out()
    console.print(
        Text(
            f"replaying {report.instance_id} execution {report.execution_id} "
            f"({report.orchestration_name} {report.orchestration_version}) against the current code",
            style="bold",
        )
    )
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("#", justify="right")
    table.add_column("recorded", no_wrap=True)
    table.add_column("name", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column("the code", overflow="ellipsis", no_wrap=True, max_width=80 if console.is_terminal else None)
    marks = {"matched": ("ok", "green"), "applied": ("ok", "green"), "diverged": ("DIVERGED", "bold red"), "not reached": ("-", "dim")}
    divergence = report.divergence
    for step in report.steps:
        mark, style = marks[step.status]
        table.add_row(
            str(step.event.event_id),
            Text(step.event.kind, style=_kind_style(step.event.kind)),
            escape(timeline.event_name(step.event)),
            Text(mark, style=style),
            Text(step.code, style="red" if step.status == "diverged" else ""),
        )
        if divergence is not None and divergence.event_id is None and step.event.event_id == divergence.after_event_id:
            table.add_row("", Text("(nothing recorded)", style="dim"), "", Text("DIVERGED", style="bold red"), Text(divergence.action, style="red"))
    console.print(table)
    if divergence is None:
        console.print(Text(f"consistent: the code reproduces all {len(report.steps)} events", style="green"))
        return
    console.print(Text("divergence", style="bold red"))
    facts = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    facts.add_row("recorded", escape(divergence.recorded))
    facts.add_row("the code", escape(divergence.action))
    facts.add_row("at", Text(divergence.location, style="bold"))
    console.print(facts)
    console.print(Text("usual causes:", style="bold"))
    for cause in causes:
        console.print(Text(f"  - {cause}"))


def replay_summary(reports: Sequence[Any], as_json: bool) -> None:
    """``replay --running``: one line per instance."""
    if as_json:
        json_document(
            {
                "consistent": all(r.consistent for r in reports),
                "instances": [
                    {
                        "instance_id": r.instance_id,
                        "execution_id": r.execution_id,
                        "orchestration_name": r.orchestration_name,
                        "consistent": r.consistent,
                        "divergence": r.to_json()["divergence"],
                    }
                    for r in reports
                ],
            }
        )
        return
    if not reports:
        note("no running instances to check")
        return
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("instance", "orchestration", "result", "recorded event", "the code", "at"):
        table.add_column(column, overflow="fold" if column == "instance" else "ellipsis", no_wrap=column != "instance")
    for r in reports:
        d = r.divergence
        table.add_row(
            escape(r.instance_id),
            escape(r.orchestration_name),
            Text("ok", style="green") if d is None else Text("DIVERGES", style="bold red"),
            escape(d.recorded) if d else "",
            escape(d.action) if d else "",
            d.location if d else "",
        )
    out().print(table)


def divergence_list(title: str, divergences: Sequence[dict[str, Any]]) -> None:
    """``run --reload``: the running instances the new code would break, on stderr."""
    console = err()
    console.print(Text(title, style="bold red"))
    for item in divergences:
        d = item.get("divergence") or {}
        console.print(
            Text.assemble(
                ("  ", ""),
                (item["instance_id"], "bold"),
                f"  {d.get('recorded', '')}  ->  {d.get('action', '')}  at ",
                (d.get("location", ""), "bold"),
            )
        )


# -- run's live view --------------------------------------------------------------------------------------


class RunView:
    """``duroxide run``'s compact view on stderr: a live panel on a terminal, else a line per change."""

    def __init__(self, header: str, refresh_per_second: float = 4.0, plain_interval_s: float = 5.0):
        self.header = header
        self.live: Live | None = None
        self.refresh_per_second = refresh_per_second
        self.plain_interval_s = plain_interval_s
        self._last_plain: tuple[int, ...] | None = None
        self._last_plain_at = 0.0
        self._started = time.monotonic()

    def __enter__(self) -> RunView:
        console = err()
        if console.is_terminal:
            self.live = Live(self._render(None), console=console, refresh_per_second=self.refresh_per_second, transient=True)
            self.live.__enter__()
        else:
            note(self.header)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self.live is not None:
            self.live.__exit__(*exc_info)
            self.live = None

    def update(self, stats: Any) -> None:
        if self.live is not None:
            self.live.update(self._render(stats))
            return
        counts = _stats_tuple(stats)
        now = time.monotonic()
        if counts != self._last_plain and now - self._last_plain_at >= self.plain_interval_s:
            self._last_plain, self._last_plain_at = counts, now
            note(_stats_line(stats))

    def _render(self, stats: Any) -> Any:
        uptime = _duration(int((time.monotonic() - self._started) * 1000))
        lines = [Text.assemble((self.header, "bold"), (f"   up {uptime}   Ctrl-C to stop", "dim"))]
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


# -- small helpers --------------------------------------------------------------------------------------------


def _kind_style(kind: str) -> str:
    if kind.endswith("Failed") or kind == "OrchestrationCancelled":
        return "red"
    if kind in ("OrchestrationCompleted", "ContinuedAsNew"):
        return "green"
    if kind.endswith(("Completed", "Fired", "Raised")):
        return "cyan"
    return ""


def _clip(text: str, console: Console, limit: int = 100) -> str:
    if not console.is_terminal or len(text) <= limit:
        return text
    return text[: limit - 3] + "..."


def _duration(ms: int) -> str:
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
