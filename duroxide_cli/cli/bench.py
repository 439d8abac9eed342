"""``duroxide bench``: the standard workloads, each on a fresh store, as a table or JSON Lines."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Optional

import typer

from . import render
from .entry import SIGNAL_EXIT
from .exits import CommandError, run_command, usage_error
from .session import prepare

app = typer.Typer()

OUTPUTS = ("table", "json", "jsonl")


@app.command()
def bench(
    workload: Annotated[
        Optional[list[str]],
        typer.Option(
            "--workload",
            "-w",
            metavar="W",
            help="Run only this workload (repeatable, or comma-separated): hello, fanout, chain, timers, events, backlog. "
            "Default: all of them.",
            show_default=False,
        ),
    ] = None,
    n: Annotated[
        Optional[str],
        typer.Option("-n", metavar="N", help="The size of each workload (backlog queues 10 x N). Default: each workload's own.", show_default=False),
    ] = None,
    rate: Annotated[
        Optional[str],
        typer.Option(
            "--rate",
            metavar="PER_S",
            help="How many instances per second timers and events start (at least 1; a steady rate, not waiting for "
            "completions). Default: 200.",
            show_default=False,
        ),
    ] = None,
    store: Annotated[
        Optional[str],
        typer.Option(
            "--store",
            metavar="URL",
            help="What to run on: sqlite:///path.db (a fresh file is made next to it and removed; path.db itself is not "
            "touched), with ?synchronous=normal to relax durability; sqlite://:memory:; or postgresql://user@host/db (each "
            "workload gets a new schema there, dropped afterwards; ?schema= is not touched). Default: a temporary SQLite file.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Optional[str],
        typer.Option("--output", "-o", metavar="table|json|jsonl", help="table (default), or one JSON line per workload (json and jsonl).", show_default=False),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Same as --output json.")] = False,
) -> None:
    """Run the standard workloads in this process and report count, seconds, rate and p50/p99 latency.

    Each workload runs on a fresh store that is removed afterwards; the configured store is never
    touched. Rates count instances (hello, timers, events, backlog), activities (fanout) or steps
    (chain); p50/p99 of timers are how late the timers fired. hello starts its instances together
    and backlog queues them first; timers and events start theirs at a steady rate (--rate)."""
    from ..bench import WORKLOADS, BenchStore, WorkloadFailed, run_workload

    async def main() -> None:
        chosen = _workloads(workload, list(WORKLOADS))
        size = _size(n)
        per_s = _rate(rate)
        form = _output(output, json_output)
        prepare()
        target = BenchStore.from_url(store)
        rows = []
        try:
            async with _sigterm_cancels():
                for name in chosen:
                    spec = WORKLOADS[name]
                    with render.bench_progress(name, f"{spec.units(size)} {spec.unit}") as progress:
                        result = await run_workload(spec, size, target, progress, per_s)
                    if form == "table":
                        rows.append((result, spec.unit, spec.latency))
                    else:
                        render.bench_record(result)
        except WorkloadFailed as error:
            raise CommandError(f"bench {name}: {error}") from None
        finally:
            render.bench_table(rows)

    run_command(main)


@asynccontextmanager
async def _sigterm_cancels() -> AsyncIterator[None]:
    """While the workloads run, SIGTERM stops them as Ctrl-C does (the running workload's store
    is removed as it unwinds), and then exits 143."""
    import asyncio

    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    terminated = False

    def terminate() -> None:
        nonlocal terminated
        terminated = True
        if task is not None:
            task.cancel()

    installed = True
    try:
        loop.add_signal_handler(signal.SIGTERM, terminate)
    except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
        installed = False
    try:
        yield
    except asyncio.CancelledError:
        if terminated:
            render.note("terminated")
            raise typer.Exit(SIGNAL_EXIT[signal.SIGTERM]) from None
        raise
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGTERM)


def _workloads(given: list[str] | None, known: list[str]) -> list[str]:
    """The workloads to run, in the standard order; an unknown name is a usage error."""
    if not given:
        return known
    names = [name.strip() for item in given for name in item.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        shown = ", ".join(repr(u) for u in unknown) or "''"
        raise usage_error(f"unknown workload {shown}; known: {', '.join(known)}")
    return [name for name in known if name in names]


MAX_SIZE = 100_000
"""The largest -n: every unit of a workload is in memory at once (``backlog`` queues 10 x N)."""


def _size(text: str | None) -> int | None:
    if text is None:
        return None
    value = int(text) if text.strip().isdigit() and len(text.strip()) <= 7 else 0
    if not 1 <= value <= MAX_SIZE:
        raise usage_error(f"-n must be a whole number from 1 to {MAX_SIZE:,}, got {text!r}")
    return value


def _rate(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 1 <= value < float("inf"):
        raise usage_error(f"--rate must be a number of instances per second of at least 1, got {text!r}")
    return value


def _output(output: str | None, json_flag: bool) -> str:
    form = (output or ("json" if json_flag else "table")).lower()
    if form not in OUTPUTS:
        raise usage_error(f"--output must be table, json or jsonl, got {output!r}")
    if json_flag and form != "json":
        raise usage_error(f"--json means --output json; it does not go with --output {form}")
    return form
