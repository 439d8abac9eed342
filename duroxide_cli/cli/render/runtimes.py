"""Runtimes: ``workers``."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.table import Table

from .console import duration, format_time, json_document, json_line, note, out
from .tables import show_table
from .text import cell


def runtime_document(runtime: Any) -> dict[str, Any]:
    """A RuntimeInfo as its JSON object (field names kept)."""
    return dataclasses.asdict(runtime)


def runtime_list(runtimes: Sequence[Any], output: str) -> None:
    """``workers``: the live runtimes, earliest started first."""
    if output == "json":
        json_document([runtime_document(r) for r in runtimes])
        return
    if output == "jsonl":
        for r in runtimes:
            json_line(runtime_document(r))
        return
    if not runtimes:
        note("no runtime is serving this store (none seen in the last 15 s); `duroxide run` starts one")
        return
    now_ms = int(time.time() * 1000)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("worker id", "host", "pid", "app", "started", "last seen"):
        table.add_column(column, no_wrap=column != "app")
    for r in runtimes:
        table.add_row(
            cell(r.worker_id),
            cell(r.host),
            str(r.pid),
            cell(r.app or "-"),
            format_time(r.started_at_ms),
            f"{duration(max(now_ms - r.last_seen_at_ms, 0))} ago",
        )
    show_table(table, out())
