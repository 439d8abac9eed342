"""Instances: ``status``, ``wait``, ``list``, ``metrics``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from .console import (
    _STATUS_STYLE,
    err,
    format_time,
    json_document,
    json_line,
    json_result,
    line_cell,
    note,
    out,
    plain_stdout,
    result_line,
    status_text,
)
from .tables import show_table, write_plain_table
from .text import block, cell, printable

# rich is imported only to draw on a terminal: off one, ``status`` and ``list`` write their
# tables as plain lines (``tables.write_plain_table``), the same lines rich's tables would give


def state_document(state: Any) -> dict[str, Any]:
    """An OrchestrationState as its JSON object (field names kept)."""
    return dataclasses.asdict(state)


def instance_state(state: Any, output: str) -> None:
    """``status`` / ``wait``: one instance (``output``: table, json or jsonl)."""
    if output != "table":
        json_result(state_document(state), output)
        return
    rows = _state_rows(state)
    if plain_stdout() is not None:
        write_plain_table([(label, printable(text, lines=style is not None)) for label, text, style in rows], boxed=False)
        return
    from rich.table import Table

    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for label, text, style in rows:
        if label == "status":
            table.add_row(label, status_text(text))
        else:
            table.add_row(label, cell(text) if style is None else block(text, style))
    show_table(table, out())


def _pretty(value: Any) -> str:
    from .. import timeline  # the history's views: imported when a payload is shown

    return timeline.pretty(value)


def _state_rows(state: Any) -> list[tuple[str, str, str | None]]:
    """The rows of ``status``: label, text, and the style of a multi-line value (None: one line)."""
    rows: list[tuple[str, str, str | None]] = [
        ("instance", state.instance_id, None),
        ("orchestration", f"{state.name} {state.version or ''}".rstrip(), None),
        ("status", state.status, None),
        ("execution", str(state.execution_id), None),
        ("created", format_time(state.created_at_ms), None),
        ("updated", format_time(state.updated_at_ms), None),
    ]
    if state.custom_status is not None:
        rows.append(("custom status", _pretty(state.custom_status), ""))
    if state.status == "Completed":
        rows.append(("output", _pretty(state.output), ""))
    if state.held:
        rows.append(("held", state.held, "yellow"))
    if state.error:
        label = "waiting" if state.status in ("Pending", "Running") else "error"
        rows.append((label, state.error, "red" if label == "error" else "yellow"))
    details = state.failure.details if state.failure is not None else ""
    if details:
        rows.append(("details", details.rstrip(), "dim"))
    return rows


def instance_list(states: Sequence[Any], output: str, next_cursor: str | None = None) -> None:
    """``list``: instances, newest first; when more match, the cursor of the next page goes to
    stderr (and, for jsonl, into a last ``{"next_cursor"}`` record)."""
    if output == "json":
        json_document([state_document(s) for s in states])
    elif output == "jsonl":
        for s in states:
            json_line(state_document(s))
        if next_cursor is not None:
            json_line({"next_cursor": next_cursor})
    elif not states:
        note("no instances")
    else:
        _instance_table(states)
    if next_cursor is not None:
        note(f"next cursor: {next_cursor}")


def instance_count(count: int, output: str) -> None:
    """``list --count``: the number alone, or ``{"count": n}``."""
    if output == "table":
        result_line(str(count))
    else:
        json_result({"count": count}, output)


_LIST_COLUMNS = ("instance", "orchestration", "version", "status", "exec", "created", "updated", "note")


def _instance_table(states: Sequence[Any]) -> None:
    if plain_stdout() is not None:
        rows = [
            (
                *(printable(text) for text in (s.instance_id, s.name, s.version or "")),
                s.status,
                str(s.execution_id),
                *(printable(text) for text in (format_time(s.created_at_ms), format_time(s.updated_at_ms), _note(s))),
            )
            for s in states
        ]
        write_plain_table(rows, _LIST_COLUMNS, boxed=True)
        return
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in _LIST_COLUMNS[:5]:
        table.add_column(column, no_wrap=True)
    for column in _LIST_COLUMNS[5:]:
        table.add_column(column)
    for s in states:
        table.add_row(
            cell(s.instance_id),
            cell(s.name),
            cell(s.version or ""),
            status_text(s.status),
            str(s.execution_id),
            line_cell(format_time(s.created_at_ms)),
            line_cell(format_time(s.updated_at_ms)),
            line_cell(_note(s)),
        )
    show_table(table, out())


def _note(state: Any) -> str:
    """The ``list`` table's note: why the instance is held back, else its error."""
    if state.held:
        return f"held: {state.held}"
    return state.error or ""


def final_state_line(state: Any) -> None:
    """On stderr, after ``execute`` or ``start --wait``: how the instance ended."""
    from rich.text import Text

    line = Text.assemble(status_text(state.status), f"  {printable(state.instance_id)}")
    if state.error:
        line.append(f"  {printable(state.error)}", style="red")
    err().print(line)


def metrics(metrics: Any, depths: Any, output: str) -> None:
    """``metrics``: instances by status and queue depths."""
    queues = {"orchestrator": depths.orchestrator, "worker": depths.worker, "timer": depths.timer}
    if output != "table":
        json_result({"by_status": dict(metrics.by_status), "total": metrics.total, "queues": queues}, output)
        return
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("instances")
    table.add_column("count", justify="right")
    for status in ("Pending", "Running", "Completed", "Failed", "Cancelled"):
        table.add_row(status_text(status), str(metrics.by_status.get(status, 0)))
    for status, count in sorted(metrics.by_status.items()):
        if status not in _STATUS_STYLE:
            table.add_row(cell(status), str(count))
    table.add_row(Text("total", style="bold"), str(metrics.total))
    queue_table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    queue_table.add_column("queue")
    queue_table.add_column("depth", justify="right")
    queue_table.add_row("orchestrator", str(depths.orchestrator))
    queue_table.add_row("worker (activities)", str(depths.worker))
    queue_table.add_row("timer (not yet due)", str(depths.timer))
    show_table(table, out())
    show_table(queue_table, out())
