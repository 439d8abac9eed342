"""Replay reports: ``replay`` and ``run --reload``'s divergence list."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from .. import timeline
from .console import err, json_result, kind_style, line_cell, note, out
from .tables import show_table
from .text import cell, printable


def replay_report(report: Any, causes: Iterable[str], output: str) -> None:
    """``replay``: each recorded event with what the code did, and the first divergence."""
    if output != "table":
        json_result(report.to_json(), output)
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
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("recorded", no_wrap=True)
    table.add_column("name", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column("the code", max_width=80 if console.is_terminal else None)
    marks = {"matched": ("ok", "green"), "applied": ("ok", "green"), "diverged": ("DIVERGED", "bold red"), "not reached": ("-", "dim")}
    divergence = report.divergence
    for step in report.steps:
        mark, style = marks[step.status]
        table.add_row(
            str(step.event.event_id),
            Text(step.event.kind, style=kind_style(step.event.kind)),
            cell(timeline.event_name(step.event)),
            Text(mark, style=style),
            line_cell(step.code, style="red" if step.status == "diverged" else ""),
        )
        if divergence is not None and divergence.event_id is None and step.event.event_id == divergence.after_event_id:
            table.add_row("", Text("(nothing recorded)", style="dim"), "", Text("DIVERGED", style="bold red"), line_cell(divergence.action, style="red"))
    show_table(table, console)
    if divergence is None:
        console.print(Text(f"consistent: the code reproduces all {len(report.steps)} events", style="green"))
        return
    console.print(Text("divergence", style="bold red"))
    facts = Table(box=None, show_header=False, padding=(0, 2, 0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    facts.add_row("recorded", cell(divergence.recorded))
    facts.add_row("the code", cell(divergence.action))
    facts.add_row("at", Text(divergence.location, style="bold"))
    show_table(facts, console)
    console.print(Text("usual causes:", style="bold"))
    for cause in causes:
        console.print(Text(f"  - {cause}"))


def replay_summary(reports: Sequence[Any], output: str, unchecked: Sequence[tuple[str, str]] | None = None) -> None:
    """``replay --running`` and ``replay`` with filters: one line per instance; ``unchecked``
    (filters only) are the instances that could not be replayed, with why."""
    if output != "table":
        document: dict[str, Any] = {
            "consistent": all(r.consistent for r in reports) and not unchecked,
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
        if unchecked is not None:
            document["not_checked"] = [{"instance_id": i, "error": e} for i, e in unchecked]
        json_result(document, output)
        return
    if not reports and not unchecked:
        note("no running instances to check" if unchecked is None else "no instances to replay")
        return
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("instance", "orchestration", "result"):
        table.add_column(column, no_wrap=True)
    for column in ("recorded event", "the code"):
        table.add_column(column)
    table.add_column("at", no_wrap=True)
    for r in reports:
        d = r.divergence
        table.add_row(
            cell(r.instance_id),
            cell(r.orchestration_name),
            Text("ok", style="green") if d is None else Text("DIVERGES", style="bold red"),
            line_cell(d.recorded if d else ""),
            line_cell(d.action if d else ""),
            d.location if d else "",
        )
    for instance_id, error in unchecked or ():
        table.add_row(cell(instance_id), "", Text("NOT CHECKED", style="yellow"), "", line_cell(error, style="yellow"), "")
    show_table(table, out())


def divergence_list(title: str, divergences: Sequence[dict[str, Any]]) -> None:
    """``run --reload``: the running instances the new code would break, on stderr."""
    console = err()
    console.print(Text(title, style="bold red"))
    for item in divergences:
        d = item.get("divergence") or {}
        console.print(
            Text.assemble(
                ("  ", ""),
                (printable(item["instance_id"]), "bold"),
                printable(f"  {d.get('recorded', '')}  ->  {d.get('action', '')}  at "),
                (d.get("location", ""), "bold"),
            )
        )
