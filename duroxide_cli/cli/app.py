"""The root ``duroxide`` command: one sub-app per command group, joined here."""

from __future__ import annotations

import os
import sys
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
    render,
    replay,
    serve,
    tree,
    workers,
)
from .exits import ExitCode

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
    """The command line (the console script, ``entry.main``, runs it with quiet signal handling).

    An argument with bytes that are not UTF-8 is refused before any command sees it: such a
    string could be neither stored nor printed."""
    for argument in sys.argv[1:]:
        raw = os.fsencode(argument)
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as error:
            render.error(f"argument {ascii(raw)[1:]} is not UTF-8 text (byte 0x{raw[error.start]:02x}); duroxide reads its arguments as UTF-8")
            raise SystemExit(ExitCode.USAGE) from None
    app(prog_name="duroxide")


if __name__ == "__main__":
    from .entry import main as entry_main

    entry_main()
