"""``duroxide execute``: run one instance to completion in this process."""

from __future__ import annotations

import time
from typing import Annotated, Optional

import typer

from ..errors import WaitTimeoutError
from . import options, render
from .exits import code_for_status, run_command, usage_error
from .group import CommandGroup
from .instances import new_instance_id, start_instance
from .session import open_store, parse_json_argument, prepare, require_app

app = CommandGroup()


@app.command()
def execute(
    name: options.OrchestrationName,
    input: Annotated[Optional[str], typer.Option("--input", "-i", metavar="JSON|@FILE", help="Input as JSON, or @file.json.")] = None,
    instance_id: Annotated[Optional[str], typer.Option("--id", metavar="ID", help="Instance id (default: NAME-<random>).")] = None,
    version: Annotated[Optional[str], typer.Option("--version", metavar="V", help="Run this version (default: the highest).")] = None,
    timeout: Annotated[
        Optional[int], typer.Option("--timeout", metavar="MS", min=1, help="Give up after this many milliseconds (exit 4).", show_default=False)
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not show the history as it happens.")] = False,
    app_ref: options.App = None,
    store: options.Store = None,
    verbose: options.Verbose = False,
) -> None:
    """Run one instance to completion with an in-process runtime on the configured store.

    The history is shown on stderr as it happens (sub-orchestrations indented); the output JSON
    is printed on stdout. Exit 0 Completed, 1 Failed, 5 Cancelled, 4 timed out."""

    async def main() -> int:
        from ..client import Client
        from ..runtime import Runtime

        settings = prepare(app=app_ref, store=store, verbose=verbose)
        registry = require_app(settings).registry
        versions = registry.orchestration_versions(name)
        if not versions:
            known = ", ".join(registry.orchestration_names) or "none"
            raise usage_error(f"orchestration '{name}' is not registered in the app {settings.app} (registered: {known})")
        if version is not None and version not in versions:
            raise usage_error(f"orchestration '{name}' has no version {version} (registered: {', '.join(versions)})")
        value = parse_json_argument(input, "--input")
        iid = new_instance_id(name) if instance_id is None else instance_id
        options = settings.runtime_options()
        async with open_store(settings, create=True, options=options) as provider:
            client = Client(provider)
            # only this instance's tree: other instances in the store are not this command's to run
            runtime = Runtime(provider, registry=registry, options=options, root_instance_id=iid, app=settings.app)
            await runtime.start()
            try:
                await start_instance(client, iid, name, value, version)
                render.note(f"running {name} as {iid}", style="bold")
                await _watch(client, iid, quiet, timeout)
                state = await client.get_status(iid)
                assert state is not None
            finally:
                await runtime.shutdown(timeout_ms=2000)
        if state.status == "Completed":
            render.json_document(state.output)
        render.final_state_line(state)
        return code_for_status(state.status)

    raise typer.Exit(run_command(main))


async def _watch(client: object, instance_id: str, quiet: bool, timeout_ms: int | None) -> None:
    import asyncio

    from .follow import HistoryFollower

    follower = HistoryFollower(client, instance_id, include_children=True)
    deadline = None if timeout_ms is None else time.monotonic() + timeout_ms / 1000
    while True:
        for item in await follower.poll():
            if not quiet:
                prefix = f"{'  ' * item.depth}{item.label} > " if item.depth else ""
                render.history_event_line(
                    item.event, item.start_ms, name=item.name, execution_id=item.execution_id, to_stderr=True, prefix=prefix
                )
        if follower.finished:
            return
        if deadline is not None and time.monotonic() >= deadline:
            state = await client.get_status(instance_id)  # type: ignore[attr-defined]
            raise WaitTimeoutError(instance_id, timeout_ms or 0, state.status if state else None)
        await asyncio.sleep(0.05)


