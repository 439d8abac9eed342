"""What ``duroxide status`` and ``duroxide list`` do once their arguments are parsed, without typer.

The typer commands (``instances.status``, ``listing.list_command``) run these functions, and so
does ``fast_reads``, which parses the plain forms of those two command lines itself. Each
parameter's default is the typer option's (a test compares them).
"""

from __future__ import annotations

from ..errors import InstanceNotFoundError
from . import render
from .failures import usage_error
from .filter_values import instance_filter
from .output_format import OutputFormat, resolve_output
from .reading import read_client
from .session import prepare

MAX_LIMIT = 1_000_000
"""The largest page ``list --limit`` asks the store for."""


def show_status(
    instance_id: str,
    output: OutputFormat | None = None,
    json_output: bool = False,
    store: str | None = None,
    verbose: bool = False,
) -> None:
    """``status``: one instance's state; an unknown id is InstanceNotFoundError (exit 3)."""
    settings = prepare(store=store, verbose=verbose)
    shape = resolve_output(output, json_output)
    with read_client(settings) as client:
        state = client.get_status(instance_id)
    if state is None:
        raise InstanceNotFoundError(instance_id)
    render.instance_state(state, shape)


def list_instances(
    status: list[str] | None = None,
    name: str | None = None,
    id_prefix: str | None = None,
    since: str | None = None,
    until: str | None = None,
    top_level: bool = False,
    limit: int = 50,
    cursor: str | None = None,
    count: bool = False,
    output: OutputFormat | None = None,
    json_output: bool = False,
    store: str | None = None,
    verbose: bool = False,
) -> None:
    """``list``: a page of the matching instances, newest first, or with ``count`` their number."""
    if limit > MAX_LIMIT:
        raise usage_error(f"--limit {limit} is too large; at most {MAX_LIMIT:,} instances are listed at once (use --cursor for more)")
    settings = prepare(store=store, verbose=verbose)
    shape = resolve_output(output, json_output)
    where = instance_filter(status, name, id_prefix, since, until, top_level)
    with read_client(settings) as client:
        if count:
            render.instance_count(client.count_instances(where), shape)
            return
        try:
            page = client.list_instances_page(where, limit=limit, cursor=cursor)
        except ValueError as error:
            raise usage_error(f"--cursor: {error}") from None
    render.instance_list(page.instances, shape, page.next_cursor)
