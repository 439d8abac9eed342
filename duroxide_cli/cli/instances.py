"""Instances: start, raise, status, wait (cancel, terminate and delete are in ``actions``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Optional

import typer

from ..errors import ConfigError, InstanceNotFoundError
from . import options, read_commands, render
from .config import Settings
from .exits import ExitCode, code_for_status, run_command, run_sync_command, usage_error
from .group import CommandGroup
from .session import open_client, parse_json_argument, prepare, require_app
from .waiting import wait_with_hint

app = CommandGroup()

def new_instance_id(name: str) -> str:
    """A fresh id for an instance of ``name``."""
    return f"{name}-{uuid.uuid4().hex[:12]}"


async def start_instance(client: Any, instance_id: str, name: str, input: Any, version: str | None) -> None:
    """Start ``name`` (pinned to ``version`` when given); an input or id the client refuses is a usage error."""
    try:
        if version is None:
            await client.start_orchestration(instance_id, name, input)
        else:
            await client.start_orchestration_versioned(instance_id, name, input, version)
    except (TypeError, ValueError) as error:
        raise usage_error(str(error)) from None


def check_orchestration(settings: Settings, name: str, version: str | None) -> None:
    """Refuse a name (or version) the configured app does not register (exit 2)."""
    if not settings.app:
        return
    try:
        registry = require_app(settings).registry
    except ConfigError as error:
        raise ConfigError(f"{error.message} (pass --no-check to start without checking the app)") from None
    versions = registry.orchestration_versions(name)
    if not versions:
        known = ", ".join(registry.orchestration_names) or "none"
        raise usage_error(
            f"orchestration '{name}' is not registered in the app {settings.app} (registered: {known}); "
            "pass --no-check to start it anyway"
        )
    if version is not None and version not in versions:
        raise usage_error(
            f"orchestration '{name}' has no version {version} in the app {settings.app} "
            f"(registered: {', '.join(versions)}); pass --no-check to start it anyway"
        )


@app.command()
def start(
    name: options.OrchestrationName,
    input: Annotated[Optional[str], typer.Option("--input", "-i", metavar="JSON|@FILE", help="Input as JSON, or @file.json.")] = None,
    instance_id: Annotated[Optional[str], typer.Option("--id", metavar="ID", help="Instance id (default: NAME-<random>).")] = None,
    version: Annotated[Optional[str], typer.Option("--version", metavar="V", help="Run this version (default: the highest registered).")] = None,
    wait: Annotated[bool, typer.Option("--wait", "-w", help="Wait until it ends; exit 0 Completed, 1 Failed, 5 Cancelled, 4 timed out.")] = False,
    timeout: options.Timeout = 30000,
    no_check: Annotated[bool, typer.Option("--no-check", help="Do not check the name against the configured app.")] = False,
    app_ref: options.App = None,
    store: options.Store = None,
    verbose: options.Verbose = False,
) -> None:
    """Start an instance in the configured store (created if missing); prints its id."""

    async def main() -> int:
        settings = prepare(app=app_ref, store=store, verbose=verbose)
        value = parse_json_argument(input, "--input")
        if not no_check:
            check_orchestration(settings, name, version)
        iid = new_instance_id(name) if instance_id is None else instance_id
        async with open_client(settings, create=True) as client:
            await start_instance(client, iid, name, value, version)
            render.result_line(iid)
            if not wait:
                return ExitCode.OK
            state = await wait_with_hint(client, iid, timeout)
        render.final_state_line(state)
        return code_for_status(state.status)

    raise typer.Exit(run_command(main))


@app.command("raise")
def raise_event(
    instance_id: options.InstanceId,
    event: Annotated[str, typer.Argument(metavar="EVENT", help="The event name the orchestration waits for.")],
    data: Annotated[Optional[str], typer.Option("--data", "-d", metavar="JSON|@FILE", help="Event data as JSON, or @file.json.")] = None,
    store: options.Store = None,
    verbose: options.Verbose = False,
) -> None:
    """Raise an event for an instance (buffered until it waits for it)."""

    async def main() -> None:
        settings = prepare(store=store, verbose=verbose)
        value = parse_json_argument(data, "--data")
        async with open_client(settings) as client:
            state = await client.get_status(instance_id)
            if state is None:
                raise InstanceNotFoundError(instance_id)
            await client.raise_event(instance_id, event, value)
        if state.is_terminal:
            render.warning(f"instance '{instance_id}' is {state.status}; the event will be dropped")
        else:
            render.note(f"raised '{event}' for {instance_id}")

    run_command(main)


@app.command()
def status(
    instance_id: options.InstanceId,
    output: options.Output = None,
    json_output: options.Json = False,
    store: options.Store = None,
    verbose: options.Verbose = False,
) -> None:
    """Show an instance's status, output or error, and custom status."""

    run_sync_command(lambda: read_commands.show_status(instance_id, output, json_output, store, verbose))


@app.command("wait")
def wait_command(
    instance_id: options.InstanceId,
    timeout: options.Timeout = 30000,
    output: options.Output = None,
    json_output: options.Json = False,
    store: options.Store = None,
    verbose: options.Verbose = False,
) -> None:
    """Wait until an instance ends; exit 0 Completed, 1 Failed, 5 Cancelled, 4 timed out."""

    async def main() -> int:
        settings = prepare(store=store, verbose=verbose)
        shape = options.resolve_output(output, json_output)
        async with open_client(settings, read_only=True) as client:
            state = await wait_with_hint(client, instance_id, timeout)
        render.instance_state(state, shape)
        return code_for_status(state.status)

    raise typer.Exit(run_command(main))
