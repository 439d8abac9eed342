"""``duroxide metrics``: instances by status and queue depths."""

from __future__ import annotations

from . import options, render
from .exits import run_command
from .group import CommandGroup
from .session import open_client, prepare

app = CommandGroup()


@app.command()
def metrics(
    output: options.Output = None,
    json_output: options.Json = False,
    store: options.Store = None,
    verbose: options.Verbose = False,
) -> None:
    """Show instances by status and the depth of each queue."""

    async def main() -> None:
        settings = prepare(store=store, verbose=verbose)
        shape = options.resolve_output(output, json_output)
        async with open_client(settings, read_only=True) as client:
            system = await client.get_system_metrics()
            depths = await client.get_queue_depths()
        render.metrics(system, depths, shape)

    run_command(main)
