"""``duroxide tree``: an instance's sub-orchestration tree with statuses, once or followed."""

from __future__ import annotations

from typing import Annotated

import typer

from . import options, render
from .exits import run_command
from .group import CommandGroup
from .session import open_client, prepare

app = CommandGroup()


@app.command()
def tree(
    instance_id: options.InstanceId,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Redraw the tree as it changes until the instance ends (or Ctrl-C).")] = False,
    interval: Annotated[int, typer.Option("--interval", metavar="MS", min=10, help="With --follow: how often to look.")] = 500,
    output: options.Output = None,
    json_output: options.Json = False,
    store: options.Store = None,
    verbose: options.Verbose = False,
) -> None:
    """Show an instance and its sub-orchestrations, recursively, with their statuses.
    --output json prints {"instance_id", "name", "status", "children": [...]}; with --follow,
    json and jsonl print the whole tree as one JSON line each time it changes."""

    async def main() -> None:
        settings = prepare(store=store, verbose=verbose)
        shape = options.resolve_output(output, json_output)
        async with open_client(settings, read_only=True) as client:
            if not follow:
                render.instance_tree(await client.get_instance_tree(instance_id), shape)
                return
            import asyncio

            with render.TreeFollowView(shape) as view:
                while True:
                    current = await client.get_instance_tree(instance_id)
                    view.update(current)
                    if current.state.is_terminal:
                        return
                    await asyncio.sleep(interval / 1000)

    run_command(main, interrupted=0)
