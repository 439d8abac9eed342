"""``duroxide workers``: the runtimes serving the store."""

from __future__ import annotations

from . import options, render
from .exits import run_command
from .group import CommandGroup
from .session import open_client, prepare

app = CommandGroup()


@app.command()
def workers(
    output: options.Output = None,
    json_output: options.Json = False,
    store: options.Store = None,
    verbose: options.Verbose = False,
) -> None:
    """List the live runtimes serving the store (seen in the last 15 s): worker id, host, pid,
    app, when each started and when it was last seen."""

    async def main() -> None:
        settings = prepare(store=store, verbose=verbose)
        shape = options.resolve_output(output, json_output)
        async with open_client(settings, read_only=True) as client:
            runtimes = await client.list_runtimes()
        render.runtime_list(runtimes, shape)

    run_command(main)
