"""``duroxide replay``: replay recorded histories against the current code."""

from __future__ import annotations

import pdb
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from ..errors import InstanceNotFoundError
from . import bulk, filters, options, render
from .completion import complete_instance_id
from .exits import ExitCode, run_command, usage_error
from .group import CommandGroup
from .preflight import check_running, check_states
from .session import open_client, parse_json, prepare, read_text_file, require_app

if TYPE_CHECKING:
    from ..history import HistoryEvent
    from ..replay.report import ReplayReport

app = CommandGroup()


@app.command()
def replay(
    instance_id: Annotated[
        Optional[str],
        typer.Argument(
            metavar="ID",
            help="The instance whose history to replay; leave it out and give filters (or --all) to replay many.",
            autocompletion=complete_instance_id,
            show_default=False,
        ),
    ] = None,
    file: Annotated[
        Optional[Path], typer.Option("--file", "-f", metavar="FILE", help="Replay a history from `duroxide history export` instead.")
    ] = None,
    running: Annotated[bool, typer.Option("--running", help="Replay every Running instance; list the ones that diverge.")] = False,
    execution: options.Execution = None,
    use_pdb: Annotated[bool, typer.Option("--pdb", help="Open the debugger in the orchestration at the divergence.")] = False,
    break_at: Annotated[
        Optional[int], typer.Option("--break-at", metavar="N", min=1, help="Open the debugger when replay reaches event N.")
    ] = None,
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
    """Replay a history against the current code, step by step; report the first divergence
    with the line of code. With filters (or --all), replay the latest execution of each match, a
    line per instance. Exit 0 when consistent, 1 when not."""
    filtered = everything or any((status, name, id_prefix, since, until, top_level))
    if file is not None or running:
        if instance_id is not None or filtered or file is not None and running:
            raise _usage("give exactly one of: an instance ID (or filters), --file FILE, or --running")
    if running and (use_pdb or break_at or execution):
        raise _usage("--pdb, --break-at and --execution replay one history; they do not go with --running")
    if filtered and instance_id is None and (use_pdb or break_at or execution):
        raise _usage("--pdb, --break-at and --execution replay one history; they do not go with filters")

    async def main() -> int:
        settings = prepare(app=app_ref, store=store, verbose=verbose)
        shape = options.resolve_output(output, json_output)
        where = None
        if file is None and not running:
            where = bulk.selection(instance_id, filters.instance_filter(status, name, id_prefix, since, until, top_level), everything, dry_run)
        if where is not None:
            return await _replay_matching(settings, where, bulk.options(yes, dry_run, output, json_output))
        registry = require_app(settings).registry
        if running:
            async with open_client(settings, read_only=True) as client:
                reports = await check_running(client, registry)
            render.replay_summary(reports, shape)
            return ExitCode.OK if all(r.consistent for r in reports) else ExitCode.FAILED
        if file is not None:
            iid, execution_id, events = _read_file(file)
        else:
            assert instance_id is not None
            async with open_client(settings, read_only=True) as client:
                iid, execution_id, events = await _read_instance(client, instance_id, execution)
        debugged: list[bool] = []
        report = _check(registry, iid, execution_id, events, break_at, debugged if use_pdb else None)
        from ..replay.report import USUAL_CAUSES

        render.replay_report(report, USUAL_CAUSES, shape)
        if use_pdb and report.divergence is not None and not debugged:
            # the code raised instead of diverging: its frame is kept, though no longer running
            _debug(report.frame, f"the divergence at {report.divergence.location} (the code has stopped; inspect its variables)")
        return ExitCode.OK if report.consistent else ExitCode.FAILED

    raise typer.Exit(run_command(main))


def _check(
    registry: Any,
    instance_id: str,
    execution_id: int,
    events: list[HistoryEvent],
    break_at: int | None,
    debugged: list[bool] | None,
) -> ReplayReport:
    """Replay one history; with ``debugged`` (--pdb) the debugger opens at the divergence while the
    code is still suspended there, and ``debugged`` records that it did."""
    from ..replay.check import check_history, orchestration_for  # the replay engine: only when replaying

    try:
        _, _, fn = orchestration_for(registry, events)
    except ValueError as error:
        raise usage_error(str(error)) from None
    if break_at is not None and not any(e.event_id == break_at for e in events):
        raise usage_error(f"--break-at {break_at}: the history has events 1 to {len(events)}")

    def hook(replayer: Any, step: str, event: HistoryEvent, description: str) -> None:
        if break_at is not None and event.event_id == break_at and step in ("matched", "applied"):
            _debug(replayer.frame(), f"event {break_at} ({event.kind}); the code {description or 'was given the event'}")
        if debugged is not None and step == "diverged":
            debugged.append(True)
            _debug(replayer.frame(), f"the divergence at {replayer.location()}: {description}")

    return check_history(fn, events, instance_id=instance_id, execution_id=execution_id, on_step=hook)


async def _replay_matching(settings: Any, where: Any, how: bulk.BulkOptions) -> int:
    """``replay`` with filters: the latest execution of each match; exit 1 when any diverges or
    could not be checked (the app lacks its orchestration)."""
    async with open_client(settings, read_only=True) as client:
        ids = await bulk.matching_ids(client, where)
        if not bulk.proceed(ids, "replay", how):
            return ExitCode.OK
        registry = require_app(settings).registry
        states = [s for s in [await client.get_status(i) for i in ids] if s is not None]
        reports, unchecked = await check_states(client, registry, states)
    render.replay_summary(reports, how.output, unchecked)
    return ExitCode.OK if all(r.consistent for r in reports) and not unchecked else ExitCode.FAILED


async def _read_instance(client: Any, instance_id: str, execution: int | None) -> tuple[str, int, list[HistoryEvent]]:
    state = await client.get_status(instance_id)
    if state is None:
        raise InstanceNotFoundError(instance_id)
    execution_id = execution or state.execution_id
    events = await client.read_history(instance_id, execution_id)
    if not events:
        raise usage_error(f"instance '{instance_id}' has no recorded history for execution {execution_id} yet")
    return instance_id, execution_id, events


def _read_file(path: Path) -> tuple[str, int, list[HistoryEvent]]:
    """A ``history export`` document, or a bare list of events."""
    from ..history import HistoryEvent
    from ..history_checks import check_sequence

    document = parse_json(read_text_file(path, "--file"), str(path))
    if isinstance(document, dict) and isinstance(document.get("events"), list):
        raw, instance_id, execution_id = document["events"], str(document.get("instance_id") or path.stem), document.get("execution_id", 1)
    elif isinstance(document, list):
        raw, instance_id, execution_id = document, path.stem, 1
    else:
        raise usage_error(f"{path} is neither a `duroxide history export` document nor a list of events")
    try:
        events = [HistoryEvent.from_json(item) for item in raw]
        check_sequence(events)
    except (ValueError, KeyError, TypeError) as error:
        raise usage_error(f"{path}: not a history: {error}") from None
    if not isinstance(execution_id, int) or execution_id < 1:
        raise usage_error(f"{path}: execution_id must be a positive integer")
    return instance_id, execution_id, events


def _debug(frame: Any, where: str) -> None:
    if frame is None:
        render.note(f"--pdb: no orchestration frame to stop in at {where} (the code has not started yet)")
        return
    render.note(f"entering the debugger at {where}; `c` continues")

    debugger = pdb.Pdb()
    debugger.reset()
    debugger.interaction(frame, None)


def _usage(message: str) -> typer.Exit:
    render.error(message)
    return typer.Exit(ExitCode.USAGE)
