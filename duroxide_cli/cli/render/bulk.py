"""Bulk actions: how many match, the ids of a dry run, the question, and the summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from .console import err, json_result, line_cell, note, out, result_line
from .tables import show_table
from .text import cell


def bulk_matched(count: int) -> None:
    """On stderr: how many instances the filters match."""
    note(f"{count} {'instance matches' if count == 1 else 'instances match'}")


def bulk_ids(ids: Sequence[str]) -> None:
    """``--dry-run``: the matching ids on stdout, one a line, nothing else."""
    for instance_id in ids:
        result_line(instance_id)


def confirm(question: str) -> bool:
    """Ask on the terminal (the question on stderr); only y or yes goes ahead."""
    try:
        answer = err().input(Text(f"{question} [y/N] ", style="bold"))
    except (EOFError, KeyboardInterrupt):
        err().print()
        return False
    return answer.strip().lower() in ("y", "yes")


def bulk_summary(outcome: Any, output: str) -> None:
    """What a bulk action did: ``{"matched", "succeeded", "failed"}``, or a small table of the
    counts followed by the failures."""
    if output != "table":
        json_result(outcome.to_json(), output)
        return
    counts = Table(box=None, show_header=False, pad_edge=False)
    counts.add_column(style="bold")
    counts.add_column(justify="right")
    counts.add_row("matched", str(outcome.matched))
    counts.add_row("succeeded", Text(str(outcome.succeeded), style="green" if outcome.succeeded else ""))
    counts.add_row("failed", Text(str(len(outcome.failed)), style="red" if outcome.failed else ""))
    console = out()
    show_table(counts, console)
    if not outcome.failed:
        return
    failures = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    failures.add_column("instance", no_wrap=True)
    failures.add_column("error")
    for failure in outcome.failed:
        failures.add_row(cell(failure.instance_id), line_cell(failure.error, style="red"))
    show_table(failures, console)
