"""``duroxide reset`` and ``duroxide fork``: go back to an event and run on from there with the current code."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from ..errors import ConfigError, InstanceNotFoundError
from . import bulk, filters, options, render
from .bulk import BulkAction
from .exits import CommandError, ExitCode, run_command, usage_error
from .group import CommandGroup
from .session import open_client, prepare, require_app

app = CommandGroup()

Event = Annotated[Optional[int], typer.Option("--event", "-e", metavar="N", help="The event to keep the history up to.")]


@app.command()
def reset(
    instance_id: bulk.InstanceIdOrFilters = None,
    event: Event = None,
    reason: Annotated[Optional[str], typer.Option("--reason", "-r", metavar="REASON", help="Why; recorded in the history.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Reset a Running instance that is not held back.")] = False,
    status: filters.Statuses = None,
    name: filters.Name = None,
    id_prefix: filters.IdPrefix = None,
    since: filters.Since = None,
    until: filters.Until = None,
    top_level: filters.TopLevel = False,
    everything: bulk.Everything = False,
    yes: bulk.Yes = False,
    dry_run: bulk.DryRun = False,
    output: options.Output = None,
    json_output: options.Json = False,
    app_ref: options.App = None,
    store: options.Store = None,
    verbose: options.Verbose = False,
) -> None:
    """Start a new execution that keeps the history up to event N and runs the rest with the
    current code; prints the new execution id. Without --event: the last event before the first
    divergence of the current code, else before the turn that failed (or the ending). Given
    filters instead of an ID, resets every match to its own default event."""

    async def main() -> int:
        settings = prepare(app=app_ref, store=store, verbose=verbose)
        where = bulk.selection(instance_id, filters.instance_filter(status, name, id_prefix, since, until, top_level), everything, dry_run)
        if where is not None and event is not None:
            raise usage_error("--event names an event of one history; with filters each instance goes back to its own default")

        async def act(client: Any, iid: str) -> None:
            await _reset_one(client, settings, iid, None, reason, force)

        async with open_client(settings) as client:
            if where is not None:
                return await bulk.run_action(client, where, BulkAction("reset", act), bulk.options(yes, dry_run, output, json_output))
            assert instance_id is not None
            point, execution_id = await _reset_one(client, settings, instance_id, event, reason, force)
        render.result_line(str(execution_id))
        render.note(f"{instance_id} runs on from event {point} as execution {execution_id}")
        return ExitCode.OK

    raise typer.Exit(run_command(main))


async def _reset_one(client: Any, settings: Any, instance_id: str, event: int | None, reason: str | None, force: bool) -> tuple[int, int]:
    """Reset one instance; (the event it went back to, the new execution id)."""
    state = await client.get_status(instance_id)
    if state is None:
        raise InstanceNotFoundError(instance_id)
    if state.status in ("Pending", "Running") and not state.held and not force:
        raise CommandError(
            f"instance '{instance_id}' is {state.status} and not held back", ExitCode.USAGE,
            hint="reset a running instance with --force (the turn it may be taking is discarded)",
        )
    point = event
    if point is None:
        point = _default_point(require_app(settings).registry, await client.read_history(instance_id))
    try:
        return point, await client.reset_instance(instance_id, point, reason)
    except ValueError as error:
        raise usage_error(str(error)) from None


@app.command()
def fork(
    instance_id: options.InstanceId,
    event: Annotated[int, typer.Option("--event", "-e", metavar="N", help="The event to copy the history up to.")],
    new_id: Annotated[Optional[str], typer.Option("--id", metavar="NEW", help="The new instance's id (default ID-fork-N).")] = None,
    store: options.Store = None,
    verbose: options.Verbose = False,
) -> None:
    """Copy an instance's history up to event N into a new instance that runs on from there with
    the current code; the original is untouched. Prints the new id."""

    async def main() -> None:
        settings = prepare(store=store, verbose=verbose)
        async with open_client(settings) as client:
            try:
                forked = await client.fork_instance(instance_id, event, new_id)
            except ValueError as error:
                raise usage_error(str(error)) from None
        render.result_line(forked)

    run_command(main)


def _default_point(registry: Any, events: list) -> int:
    """Before the first divergence of the loaded code, else ``reset_point``'s choice."""
    from ..replay.check import check_history, orchestration_for  # the replay engine: only when replaying
    from ..replay.reset import reset_point

    if not events:
        raise usage_error("the instance has no recorded history to reset yet")
    try:
        _, _, fn = orchestration_for(registry, events)
    except (ConfigError, ValueError) as error:
        raise usage_error(f"cannot choose the event to reset to: {error}; give --event N") from None
    report = check_history(fn, events)
    return reset_point(events, report.divergence.after_event_id if report.divergence else None)
