"""``duroxide list``: instances by filter, newest first, a page at a time."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from . import filters, options, render
from .exits import run_sync_command, usage_error
from .group import CommandGroup
from .reading import read_client
from .session import prepare

app = CommandGroup()

MAX_LIMIT = 1_000_000
"""The largest page ``list --limit`` asks the store for."""


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

    def main() -> None:
        if limit > MAX_LIMIT:
            raise usage_error(f"--limit {limit} is too large; at most {MAX_LIMIT:,} instances are listed at once (use --cursor for more)")
        settings = prepare(store=store, verbose=verbose)
        shape = options.resolve_output(output, json_output)
        where = filters.instance_filter(status, name, id_prefix, since, until, top_level)
        with read_client(settings) as client:
            if count:
                render.instance_count(client.count_instances(where), shape)
                return
            try:
                page = client.list_instances_page(where, limit=limit, cursor=cursor)
            except ValueError as error:
                raise usage_error(f"--cursor: {error}") from None
        render.instance_list(page.instances, shape, page.next_cursor)

    run_sync_command(main)
