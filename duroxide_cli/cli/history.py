"""``duroxide history``: an instance's history as a table, followed live, in depth, or as JSON."""

from __future__ import annotations

import time
from typing import Annotated, Any, Optional

import typer

from ..errors import InstanceNotFoundError
from . import options, render
from .exits import CommandError, run_command
from .group import CommandGroup
from .session import open_client, prepare

app = CommandGroup(help="Show, follow, inspect or export an instance's history.", no_args_is_help=True)


@app.command()
def show(
    instance_id: options.InstanceId,
    execution: options.Execution = None,
    output: options.Output = None,
    json_output: options.Json = False,
    store: options.Store = None,
    verbose: options.Verbose = False,
) -> None:
    """The events of one execution as a table: time, kind, name, details, which event completed which.
    --output json prints the `export` document, jsonl one event per line."""

    async def main() -> None:
        settings = prepare(store=store, verbose=verbose)
        shape = options.resolve_output(output, json_output)
        async with open_client(settings, read_only=True) as client:
            execution_id, events = await _read(client, instance_id, execution)
        render.history_table(instance_id, execution_id, events, shape)

    run_command(main)


@app.command()
def export(
    instance_id: options.InstanceId,
    execution: options.Execution = None,
    output: options.Output = None,
    json_output: options.Json = False,
    store: options.Store = None,
    verbose: options.Verbose = False,
) -> None:
    """The history as one JSON document, {"instance_id", "execution_id", "events"}, for `duroxide
    replay --file`. It is JSON whatever --output says; jsonl prints it on one line."""

    async def main() -> None:
        settings = prepare(store=store, verbose=verbose)
        shape = options.resolve_output(output, json_output)
        async with open_client(settings, read_only=True) as client:
            execution_id, events = await _read(client, instance_id, execution)
        render.history_export(instance_id, execution_id, events, shape)

    run_command(main)


@app.command()
def inspect(
    instance_id: options.InstanceId,
    event: Annotated[Optional[int], typer.Option("--event", metavar="N", min=1, help="Only this event.")] = None,
    execution: options.Execution = None,
    output: options.Output = None,
    json_output: options.Json = False,
    store: options.Store = None,
    verbose: options.Verbose = False,
) -> None:
    """Events in depth: full payloads, time from scheduling to completion, and pending work
    (running activities, open timers with their fire time, awaited events)."""

    async def main() -> None:
        settings = prepare(store=store, verbose=verbose)
        shape = options.resolve_output(output, json_output)
        async with open_client(settings, read_only=True) as client:
            execution_id, events = await _read(client, instance_id, execution)
        selected = events
        if event is not None:
            selected = [e for e in events if e.event_id == event]
            if not selected:
                raise CommandError(f"execution {execution_id} of '{instance_id}' has no event {event} (it has {len(events)})")
        render.history_inspect(instance_id, execution_id, events, selected, int(time.time() * 1000), shape)

    run_command(main)


@app.command()
def tail(
    instance_id: options.InstanceId,
    output: options.Output = None,
    json_output: options.Json = False,
    interval: Annotated[int, typer.Option("--interval", metavar="MS", min=10, help="How often to look for new events.")] = 200,
    store: options.Store = None,
    verbose: options.Verbose = False,
) -> None:
    """Follow the history live until the instance ends (or Ctrl-C), across continue-as-new.
    --output json and jsonl both print one event per line, with its execution_id."""

    async def main() -> None:
        settings = prepare(store=store, verbose=verbose)
        shape = options.resolve_output(output, json_output)
        async with open_client(settings, read_only=True) as client:
            await _follow(client, instance_id, interval / 1000, shape != "table")

    run_command(main, interrupted=0)


async def _follow(client: Any, instance_id: str, interval_s: float, json_output: bool) -> None:
    import asyncio

    from .follow import HistoryFollower

    follower = HistoryFollower(client, instance_id)
    while True:
        for item in await follower.poll():
            if json_output:
                render.history_event_json(item.event, item.execution_id)
            else:
                render.history_event_line(item.event, item.start_ms, name=item.name, execution_id=item.execution_id)
        if follower.finished:
            return
        await asyncio.sleep(interval_s)


async def _read(client: Any, instance_id: str, execution: int | None) -> tuple[int, list[Any]]:
    state = await client.get_status(instance_id)
    if state is None:
        raise InstanceNotFoundError(instance_id)
    execution_id = execution or state.execution_id
    if execution is not None:
        known = [e.execution_id for e in await client.list_executions(instance_id)]
        if execution not in known:
            listed = ", ".join(map(str, known)) or "none"
            raise CommandError(f"instance '{instance_id}' has no stored execution {execution} (stored: {listed})")
    return execution_id, await client.read_history(instance_id, execution_id)
