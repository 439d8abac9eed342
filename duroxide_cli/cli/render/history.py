"""Histories: ``history show/tail/inspect`` and ``execute``'s live lines."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from ...history import HistoryEvent
from .. import timeline
from .console import clip, duration, err, format_time, json_line, json_result, kind_style, line_cell, out
from .tables import show_table
from .text import block, cell, printable


def history_table(instance_id: str, execution_id: int, events: Sequence[HistoryEvent], output: str) -> None:
    """``history show``: the events of one execution; json is the ``export`` document, jsonl one
    event per line (with its ``execution_id``, as ``history tail`` prints them)."""
    if output == "json":
        history_export(instance_id, execution_id, events, output)
        return
    if output == "jsonl":
        for event in events:
            history_event_json(event, execution_id)
        return
    console = out()
    start = events[0].timestamp_ms if events else 0
    console.print(Text(f"{printable(instance_id)}  execution {execution_id}  started {format_time(start)}", style="bold"))
    completions = timeline.completed_by(events)
    by_id = {e.event_id: e for e in events}
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("time", justify="right", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("name", no_wrap=True)
    table.add_column("details", max_width=70 if console.is_terminal else None)
    table.add_column("link", no_wrap=True)
    for event in events:
        table.add_row(
            str(event.event_id),
            timeline.offset_text(event, start),
            Text(event.kind, style=kind_style(event.kind)),
            cell(timeline.event_name(event, by_id)),
            line_cell(timeline.event_details(event)),
            timeline.link_text(event, completions),
        )
    show_table(table, console)


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
    line.append(event.kind, style=kind_style(event.kind))
    name = timeline.event_name(event) if name is None else name
    if name:
        line.append(f"  {printable(name)}")
    details = timeline.event_details(event)
    if details:
        line.append(f"  {clip(details, console)}", style="dim")
    if link:
        line.append(f"  ({link})", style="dim")
    console.print(line)


def history_export(instance_id: str, execution_id: int, events: Sequence[HistoryEvent], output: str) -> None:
    """``history export``: ``{"instance_id", "execution_id", "events"}``, indented or on one line (jsonl)."""
    json_result(timeline.export_document(instance_id, execution_id, events), output)


def history_event_json(event: HistoryEvent, execution_id: int) -> None:
    """One event as a JSON Lines record (``history tail --json``)."""
    json_line({**event.to_json(), "execution_id": execution_id})


def history_inspect(
    instance_id: str, execution_id: int, events: Sequence[HistoryEvent], selected: Sequence[HistoryEvent], now_ms: int, output: str
) -> None:
    """``history inspect``: events in depth, with timings and the work still pending."""
    completions = timeline.completed_by(events)
    by_id = {e.event_id: e for e in events}
    pending = timeline.pending_work(events)
    if output != "table":
        document = {
            "instance_id": instance_id,
            "execution_id": execution_id,
            "events": [_inspect_record(e, by_id, completions) for e in selected],
            "pending": [dataclasses.asdict(p) for p in pending],
        }
        json_result(document, output)
        return
    console = out()
    start = events[0].timestamp_ms if events else 0
    for event in selected:
        record = _inspect_record(event, by_id, completions)
        head = Text.assemble((f"#{event.event_id} ", "bold"), (event.kind, kind_style(event.kind)))
        name = timeline.event_name(event, by_id)
        if name:
            head.append(f"  {printable(name)}")
        console.print(head)
        facts = Table(box=None, show_header=False, padding=(0, 2, 0, 2))
        facts.add_column(style="dim")
        facts.add_column()
        facts.add_row("recorded", f"{format_time(event.timestamp_ms)} ({timeline.offset_text(event, start)})")
        if "scheduled_by" in record:
            facts.add_row("completes", f"#{record['scheduled_by']} ({record['duration_ms']} ms after it was scheduled)")
        if "completed_by" in record:
            facts.add_row("completed by", f"#{record['completed_by']} after {record['duration_ms']} ms")
        for key, value in timeline.event_payload(event).items():
            if key == "failure" and isinstance(value, dict):
                facts.add_row("error", block(f"{value.get('error_type')}: {value.get('message')}", cut=False))
                if value.get("details"):
                    facts.add_row("traceback", block(str(value["details"]).rstrip(), "dim", cut=False))
            elif key == "fire_at_ms":
                facts.add_row("fires at", format_time(value))
            else:
                facts.add_row(key, block(timeline.pretty(value), cut=False))
        show_table(facts, console)
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
    for column in ("#", "kind", "name", "since"):
        table.add_column(column, no_wrap=True)
    table.add_column("detail")
    for item in pending:
        if item.fire_at_ms is not None:
            due = item.fire_at_ms - now_ms
            detail = f"fires {format_time(item.fire_at_ms)} ({'in ' + duration(due) if due >= 0 else duration(-due) + ' overdue'})"
        else:
            detail = item.detail
        table.add_row(str(item.event_id), item.kind, cell(item.name), f"{duration(now_ms - item.since_ms)} ago", line_cell(detail))
    show_table(table, console)
