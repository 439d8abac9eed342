"""``duroxide metrics``: instances by status and queue depths."""

from __future__ import annotations

import typer

from . import options, render
from .exits import run_command
from .session import open_client, prepare

app = typer.Typer()


@app.command()
def metrics(json_output: options.Json = False, store: options.Store = None) -> None:
    """Show instances by status and the depth of each queue."""

    async def main() -> None:
        settings = prepare(store=store)
        async with open_client(settings) as client:
            system = await client.get_system_metrics()
            depths = await client.get_queue_depths()
        render.metrics(system, depths, json_output)

    run_command(main)
