"""``duroxide list``: instances by filter, newest first, a page at a time."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from . import filters, options, read_commands
from .exits import run_sync_command
from .group import CommandGroup

app = CommandGroup()


@app.command("list")
def list_command(
    status: filters.Statuses = None,
    name: filters.Name = None,
    id_prefix: filters.IdPrefix = None,
    since: filters.Since = None,
    until: filters.Until = None,
    top_level: filters.TopLevel = False,
    limit: Annotated[int, typer.Option("--limit", metavar="N", min=1, help="At most this many, newest first.")] = 50,
    cursor: Annotated[
        Optional[str], typer.Option("--cursor", metavar="CURSOR", help="The next page: the cursor a previous list printed.")
    ] = None,
    count: Annotated[bool, typer.Option("--count", help="Print only the number of matches (--limit does not apply).")] = False,
    output: options.Output = None,
    json_output: options.Json = False,
    store: options.Store = None,
    verbose: options.Verbose = False,
) -> None:
    """List instances, newest first. When more match than --limit, the cursor of the next page is
    printed on stderr (`next cursor: C`; with --output jsonl also as a last `{"next_cursor"}` line)."""

    run_sync_command(
        lambda: read_commands.list_instances(
            status, name, id_prefix, since, until, top_level, limit, cursor, count, output, json_output, store, verbose
        )
    )
