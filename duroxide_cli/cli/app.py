"""The root ``duroxide`` command: one sub-app per command group, joined here.

The command line that runs (``main``) is a ``RootGroup``: it knows every command's name and
summary from ``commands.COMMANDS`` and imports and builds a command only when it is looked up.
``duroxide status ID`` imports the module of ``status`` and builds ``status`` alone (not
``start``, nor ``run``'s live view, nor ``bench``'s workloads); ``duroxide --help`` imports and
builds no command at all; shell completion builds the commands that match what was typed.
``app`` is the whole app, every command built at once, for whatever walks all of them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from importlib import import_module
from typing import Annotated, Any, Optional

import typer

from .arguments import refuse_undecodable
from .commands import COMMANDS, GROUPS, NAMED_GROUPS
from .group import Command, Group


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


def _typer(**settings: Any) -> typer.Typer:
    """A typer app with the settings every ``duroxide`` command is built with."""
    return typer.Typer(name="duroxide", pretty_exceptions_enable=False, rich_markup_mode=None, **settings)


def build_app(groups: Sequence[str] = GROUPS) -> typer.Typer:
    """The ``duroxide`` app with every command of ``groups`` (modules of ``GROUPS``), built at once."""
    built = _typer(cls=Group, no_args_is_help=True)
    built.callback()(root)
    for name in groups:
        module = import_module(f"{__package__}.{name}")
        if name in NAMED_GROUPS:
            built.add_typer(module.app, name=NAMED_GROUPS[name])
        else:
            built.add_typer(module.app)
    return built


def build_command(name: str) -> Any:
    """The command ``name`` of ``COMMANDS`` alone, built as the whole app builds it."""
    module_name = COMMANDS[name][0]
    module = import_module(f"{__package__}.{module_name}")
    single = _typer(add_completion=False)
    if module_name in NAMED_GROUPS:
        single.add_typer(module.app, name=NAMED_GROUPS[module_name])
        return typer.main.get_command(single).commands[name]  # type: ignore[attr-defined]
    for info in module.app.registered_commands:
        if (info.name or typer.main.get_command_name(info.callback.__name__)) == name:
            single.registered_commands.append(info)
            return typer.main.get_command(single)
    raise LookupError(f"{module.__name__} defines no command {name!r}")


class _CommandTable(Mapping[str, Any]):
    """The commands of ``COMMANDS`` by name, each imported and built the first time it is looked up."""

    def __init__(self) -> None:
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        command = self._built.get(name)
        if command is None:
            if name not in COMMANDS:
                raise KeyError(name)
            command = self._built[name] = build_command(name)
        return command

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)


class RootGroup(Group):
    """The ``duroxide`` group ``main`` runs: its commands are built on first use (``_CommandTable``)
    and its ``--help`` lists them from their summaries in ``COMMANDS``."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _CommandTable()  # type: ignore[assignment]  # read-only: nothing adds to the root

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, Command(name=name, help=summary).get_short_help_str(limit)) for name, (_, summary) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def root_app() -> typer.Typer:
    """The ``duroxide`` app whose commands are imported and built only when used (``RootGroup``)."""
    lazy = _typer(cls=RootGroup, no_args_is_help=True)
    lazy.callback()(root)
    return lazy


def __getattr__(name: str) -> Any:
    if name == "app":  # the whole command line, built on first use
        whole = build_app()
        globals()["app"] = whole
        return whole
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """The command line as typer runs it (the console script, ``entry.main``, answers the plain
    forms of ``status`` and ``list`` first, without typer: see ``fast_reads``).

    An argument with bytes that are not UTF-8 is refused before any command sees it."""
    refuse_undecodable(sys.argv[1:])
    root_app()(prog_name="duroxide")


if __name__ == "__main__":
    from .entry import main as entry_main

    entry_main()
