"""Acting on instances: ``cancel``, ``terminate``, ``delete`` (one id, or many by filter) and
``prune`` (retention: finished instances older than an age)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from ..errors import InstanceNotFoundError, InstanceRunningError
from . import bulk, filters, options, render
from .bulk import BulkAction, BulkOptions
from .exits import CommandError, ExitCode, run_command, usage_error
from .group import CommandGroup
from .session import open_client, prepare

if TYPE_CHECKING:
    from ..providers.base import InstanceFilter

app = CommandGroup()

Reason = Annotated[Optional[str], typer.Option("--reason", "-r", metavar="REASON", help="Why; shown in its status.")]
Force = Annotated[bool, typer.Option("--force", "-f", help="Delete even if it is still running.")]


@app.command()
def cancel(
    instance_id: bulk.InstanceIdOrFilters = None,
    reason: Reason = None,
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
    store: options.Store = None,
    verbose: options.Verbose = False,
) -> None:
    """Cancel an instance (or every one the filters match): its code's pending step raises
    OrchestrationCancelled, so it can compensate; sub-orchestrations it waits for are cancelled
    too (a finished one is left alone)."""
    def select() -> tuple[InstanceFilter | None, BulkOptions]:
        where = filters.instance_filter(status, name, id_prefix, since, until, top_level)
        return bulk.selection(instance_id, where, everything, dry_run), bulk.options(yes, dry_run, output, json_output)

    _stop(instance_id, select, reason, store, verbose, terminate=False)


@app.command()
def terminate(
    instance_id: bulk.InstanceIdOrFilters = None,
    reason: Reason = None,
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
    store: options.Store = None,
    verbose: options.Verbose = False,
) -> None:
    """Stop an instance (or every one the filters match) at once, running none of its code (also
    one compensating after a cancel); it ends Cancelled with the failure type Terminated."""
    def select() -> tuple[InstanceFilter | None, BulkOptions]:
        where = filters.instance_filter(status, name, id_prefix, since, until, top_level)
        return bulk.selection(instance_id, where, everything, dry_run), bulk.options(yes, dry_run, output, json_output)

    _stop(instance_id, select, reason, store, verbose, terminate=True)


def _stop(
    instance_id: str | None,
    select: Callable[[], tuple[InstanceFilter | None, BulkOptions]],
    reason: str | None,
    store: str | None,
    verbose: bool,
    *,
    terminate: bool,
) -> None:
    what = "terminate" if terminate else "cancel"

    async def act(client: Any, iid: str) -> None:
        if terminate:
            await client.terminate_instance(iid, reason)
        else:
            await client.cancel_instance(iid, reason)

    async def main() -> int:
        settings = prepare(store=store, verbose=verbose)
        where, how = select()
        async with open_client(settings) as client:
            if where is not None:
                return await bulk.run_action(client, where, BulkAction(what, act), how)
            assert instance_id is not None
            state = await client.get_status(instance_id)
            if state is None:
                raise InstanceNotFoundError(instance_id)
            await act(client, instance_id)
        if state.is_terminal:
            render.note(f"instance '{instance_id}' is already {state.status}; nothing to {what}")
        else:
            render.note(f"{what} requested for {instance_id}")
        return ExitCode.OK

    raise typer.Exit(run_command(main))


@app.command()
def delete(
    instance_id: bulk.InstanceIdOrFilters = None,
    force: Force = False,
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
    store: options.Store = None,
    verbose: options.Verbose = False,
) -> None:
    """Delete an instance (or every one the filters match), its sub-orchestrations and their
    histories; a running one needs --force."""

    async def main() -> int:
        settings = prepare(store=store, verbose=verbose)
        where = bulk.selection(instance_id, filters.instance_filter(status, name, id_prefix, since, until, top_level), everything, dry_run)
        how = bulk.options(yes, dry_run, output, json_output)
        async with open_client(settings) as client:
            if where is not None:
                return await bulk.run_action(client, where, _deletion(force), how)
            assert instance_id is not None
            await _delete(client, instance_id, force)
        render.note(f"deleted {instance_id}")
        return ExitCode.OK

    raise typer.Exit(run_command(main))


@app.command()
def prune(
    before: Annotated[
        str, typer.Option("--before", metavar="AGE|TIME", help="Created before: an age (30s, 15m, 2h, 7d ago) or an ISO-8601 time.")
    ],
    status: filters.Statuses = None,
    yes: bulk.Yes = False,
    dry_run: bulk.DryRun = False,
    output: options.Output = None,
    json_output: options.Json = False,
    store: options.Store = None,
    verbose: options.Verbose = False,
) -> None:
    """Delete finished instances (Completed, Failed, Cancelled; never running ones) created before
    an age, with their sub-orchestrations and histories; prints how many went."""

    async def main() -> int:
        settings = prepare(store=store, verbose=verbose)
        where = _finished_before(before, status)
        how = bulk.options(yes, dry_run, output, json_output)
        async with open_client(settings) as client:
            return await bulk.run_action(client, where, BulkAction("delete", _prune_one), how)

    raise typer.Exit(run_command(main))


async def _prune_one(client: Any, instance_id: str) -> None:
    """Delete a finished instance with its tree, unless a sub-orchestration of it still runs."""
    try:
        stack = [await client.get_instance_tree(instance_id)]
    except InstanceNotFoundError:
        return  # deleted with its parent a moment ago
    while stack:
        node = stack.pop()
        if not node.state.is_terminal:
            raise CommandError(f"instance '{instance_id}' has a sub-orchestration still running: '{node.state.instance_id}'")
        stack.extend(node.children)
    await _deletion(force=False).act(client, instance_id)


def _deletion(force: bool) -> BulkAction:
    """Delete one instance of many; one already gone (deleted with its parent) counts as deleted."""

    async def act(client: Any, instance_id: str) -> None:
        try:
            await _delete(client, instance_id, force)
        except InstanceNotFoundError:
            pass

    return BulkAction("delete", act)


async def _delete(client: Any, instance_id: str, force: bool) -> None:
    try:
        await client.delete_instance(instance_id, force=force)
    except InstanceRunningError:
        raise CommandError(f"instance '{instance_id}' is still running; cancel it first or pass --force") from None


def _finished_before(before: str, statuses: list[str] | None) -> InstanceFilter:
    """Finished instances (of the given statuses, all three by default) created before ``before``."""
    from ..providers.base import TERMINAL_STATUSES, InstanceFilter

    asked = filters.instance_filter(statuses, None, None, None, None, False)
    created_until_ms = filters.parse_time(before, "--before", int(time.time() * 1000))
    unfinished = [s for s in asked.statuses if s not in TERMINAL_STATUSES]
    if unfinished:
        raise usage_error(f"prune deletes finished instances only: --status takes Completed, Failed or Cancelled, not {unfinished[0]}")
    return InstanceFilter(statuses=asked.statuses or tuple(s for s in filters.STATUSES if s in TERMINAL_STATUSES), created_until_ms=created_until_ms)
