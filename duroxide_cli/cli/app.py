"""The root ``duroxide`` command: one sub-app per command group, joined here."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Optional

import typer

from . import (
    actions,
    bench,
    execute,
    history,
    instances,
    listing,
    metrics,
    project,
    recover,
    replay,
    serve,
    tree,
    workers,
)

app = typer.Typer(
    name="duroxide",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        try:
            text = version("duroxide-cli")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
            from .. import __version__ as text
        typer.echo(f"duroxide {text}")
        raise typer.Exit(0)


@app.callback()
def root(
    show_version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = None,
) -> None:
    """Durable workflows for Python: run an app, start and drive instances, read and replay their histories.

    Configuration comes from duroxide.toml (here or in a parent directory), then DUROXIDE_*
    variables, then flags. Exit codes: 0 ok, 1 failed, 2 usage, 3 unknown instance,
    4 timed out, 5 cancelled.
    """


for group in (project, serve, execute, instances, actions, recover, listing, tree, metrics, workers, replay, bench):
    app.add_typer(group.app)
app.add_typer(history.app, name="history")


def main() -> None:
    """The console script ``duroxide``."""
    app(prog_name="duroxide")


if __name__ == "__main__":
    main()
