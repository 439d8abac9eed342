"""``duroxide history``: an instance's history as a table, followed live, in depth, or as JSON."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any, Optional

import typer

from ..errors import InstanceNotFoundError
from . import options, render
from .exits import CommandError, run_command
from .follow import HistoryFollower
from .session import open_client, prepare

app = typer.Typer(help="Show, follow, inspect or export an instance's history.", no_args_is_help=True)

InstanceId = Annotated[str, typer.Argument(metavar="ID", help="The instance.")]


@app.command()
def show(instance_id: InstanceId, execution: options.Execution = None, json_output: options.Json = False, store: options.Store = None) -> None:
    """The events of one execution as a table: time, kind, name, details, which event completed which."""

    async def main() -> None:
        settings = prepare(store=store)
        async with open_client(settings) as client:
            execution_id, events = await _read(client, instance_id, execution)
        render.history_table(instance_id, execution_id, events, json_output)

    run_command(main)


@app.command()
def export(
    instance_id: InstanceId,
    execution: options.Execution = None,
    json_output: Annotated[bool, typer.Option("--json", help="Accepted for symmetry: the output is always JSON.")] = False,
    store: options.Store = None,
) -> None:
    """The history as JSON ({"instance_id", "execution_id", "events"}), for `duroxide replay --file`."""

    async def main() -> None:
        settings = prepare(store=store)
        async with open_client(settings) as client:
            execution_id, events = await _read(client, instance_id, execution)
        render.history_table(instance_id, execution_id, events, as_json=True)

    run_command(main)


@app.command()
def inspect(
    instance_id: InstanceId,
    event: Annotated[Optional[int], typer.Option("--event", metavar="N", min=1, help="Only this event.")] = None,
    execution: options.Execution = None,
    json_output: options.Json = False,
    store: options.Store = None,
) -> None:
    """Events in depth: full payloads, time from scheduling to completion, and pending work
    (running activities, open timers with their fire time, awaited events)."""

    async def main() -> None:
        settings = prepare(store=store)
        async with open_client(settings) as client:
            execution_id, events = await _read(client, instance_id, execution)
        selected = events
        if event is not None:
            selected = [e for e in events if e.event_id == event]
            if not selected:
                raise CommandError(f"execution {execution_id} of '{instance_id}' has no event {event} (it has {len(events)})")
        render.history_inspect(instance_id, execution_id, events, selected, int(time.time() * 1000), json_output)

    run_command(main)


@app.command()
def tail(
    instance_id: InstanceId,
    json_output: Annotated[bool, typer.Option("--json", help="Print each event as a JSON line.")] = False,
    interval: Annotated[int, typer.Option("--interval", metavar="MS", min=10, help="How often to look for new events.")] = 200,
    store: options.Store = None,
) -> None:
    """Follow the history live until the instance ends (or Ctrl-C), across continue-as-new."""

    async def main() -> None:
        settings = prepare(store=store)
        async with open_client(settings) as client:
            await _follow(client, instance_id, interval / 1000, json_output)

    run_command(main, interrupted=0)


async def _follow(client: Any, instance_id: str, interval_s: float, json_output: bool) -> None:
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
