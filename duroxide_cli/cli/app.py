"""The root ``duroxide`` command: one sub-app per command group, joined here.

A command line that names a command imports and builds only that command's group
(``COMMANDS``): ``duroxide status ID`` does not pay for ``run``'s live view or ``bench``'s
workloads. Anything else (``--help``, no command, a misspelt one, shell completion) builds the
whole app, which ``app`` also is.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib import import_module
from typing import Annotated, Any, Optional

import typer

from .group import Group

GROUPS = (
    "project", "serve", "execute", "instances", "actions", "recover", "listing", "tree", "metrics", "workers",
    "replay", "bench", "history",
)
"""The command modules under ``duroxide_cli.cli``, in the order ``--help`` lists them."""

COMMANDS: dict[str, str] = {
    "init": "project",
    "run": "serve",
    "execute": "execute",
    "start": "instances",
    "raise": "instances",
    "status": "instances",
    "wait": "instances",
    "cancel": "actions",
    "terminate": "actions",
    "delete": "actions",
    "prune": "actions",
    "reset": "recover",
    "fork": "recover",
    "list": "listing",
    "tree": "tree",
    "metrics": "metrics",
    "workers": "workers",
    "replay": "replay",
    "bench": "bench",
    "history": "history",
}
"""Which module defines each command (a test checks it against the modules)."""

_NAMED_GROUPS = {"history": "history"}
"""Modules whose commands sit under a command of their own (``duroxide history show``)."""


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("duroxide-cli")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
            from .. import __version__ as text
        typer.echo(f"duroxide {text}")
        raise typer.Exit(0)


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


def build_app(groups: Sequence[str] = GROUPS) -> typer.Typer:
    """The ``duroxide`` app with the commands of ``groups`` (modules of ``GROUPS``)."""
    built = typer.Typer(
        name="duroxide",
        cls=Group,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    built.callback()(root)
    for name in groups:
        module = import_module(f"{__package__}.{name}")
        if name in _NAMED_GROUPS:
            built.add_typer(module.app, name=_NAMED_GROUPS[name])
        else:
            built.add_typer(module.app)
    return built


def group_for(argv: Sequence[str]) -> str | None:
    """The module of the command ``argv`` names, or None when the whole app is needed. The root
    takes flags only, so the first word that is not one is the command."""
    if any(key.startswith("_") and key.endswith("_COMPLETE") for key in os.environ):
        return None  # shell completion lists every command
    command = next((word for word in argv if not word.startswith("-")), None)
    return None if command is None else COMMANDS.get(command)


def __getattr__(name: str) -> Any:
    if name == "app":  # the whole command line, built on first use
        whole = build_app()
        globals()["app"] = whole
        return whole
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """The command line (the console script, ``entry.main``, runs it with quiet signal handling).

    An argument with bytes that are not UTF-8 is refused before any command sees it: such a
    string could be neither stored nor printed."""
    for argument in sys.argv[1:]:
        raw = os.fsencode(argument)
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as error:
            from . import render
            from .exits import ExitCode

            render.error(f"argument {ascii(raw)[1:]} is not UTF-8 text (byte 0x{raw[error.start]:02x}); duroxide reads its arguments as UTF-8")
            raise SystemExit(ExitCode.USAGE) from None
    group = group_for(sys.argv[1:])
    build_app(GROUPS if group is None else (group,))(prog_name="duroxide")


if __name__ == "__main__":
    from .entry import main as entry_main

    entry_main()
