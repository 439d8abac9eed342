"""The typer app every command group is: its commands print help through ``render.help``."""

from __future__ import annotations

from typing import Any

import typer

from .render.help import HelpCommand


class CommandGroup(typer.Typer):
    """``typer.Typer`` whose commands default to ``HelpCommand`` (plain, placeholder-free help)."""

    def command(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cls", HelpCommand)
        return super().command(*args, **kwargs)
