"""``duroxide bench``: a progress bar on stderr, then a table or one JSON line per workload."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .console import err, json_line, note, out
from .tables import show_table


@contextmanager
def bench_progress(workload: str, n_label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar for one workload on a terminal (removed when it ends); elsewhere one
    line on stderr as it starts. Yields the callback that moves it: (done, total)."""
    console = err()
    if not console.is_terminal:
        note(f"bench: {workload} ({n_label})")
        yield lambda done, total: None
        return
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    with progress:
        task = progress.add_task(f"{workload} ({n_label})", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield advance


def bench_record(result: Any) -> None:
    """One workload's result as a JSON Lines record (``--output json`` and ``jsonl``)."""
    json_line(result.to_json())


def bench_table(rows: Sequence[tuple[Any, str, str]]) -> None:
    """The results as a table: (WorkloadResult, unit, what the latency measures) per workload,
    with a line under it that says what p50 and p99 measure for each."""
    if not rows:
        return
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title=f"store: {rows[0][0].store}", title_justify="left")
    for column in ("workload", "n", "unit", "seconds", "rate/s", "p50 ms", "p99 ms"):
        table.add_column(column, justify="left" if column in ("workload", "unit") else "right")
    meanings: dict[str, list[str]] = {}
    for result, unit, latency in rows:
        table.add_row(
            result.workload,
            str(result.n),
            unit,
            f"{result.seconds:.3f}",
            f"{result.rate:.1f}",
            f"{result.p50_ms:g}",
            f"{result.p99_ms:g}",
        )
        meanings.setdefault(latency, []).append(result.workload)
    table.caption = "p50/p99: " + "; ".join(f"{', '.join(names)}: {latency}" for latency, names in meanings.items())
    table.caption_justify = "left"
    show_table(table, out())
