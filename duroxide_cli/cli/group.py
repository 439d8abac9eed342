"""The typer app every command group is: its commands print help through ``render.help`` and
take plain values without pydantic (``coercion``)."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from .coercion import plain_values
from .render.help import HelpCommand


class Command(HelpCommand):
    """A ``HelpCommand`` whose string and number parameters skip typer's pydantic coercion."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        plain_values(self.get_params(ctx))
        return super().parse_args(ctx, args)


class Group(TyperGroup):
    """A typer group (``duroxide``, ``duroxide history``) whose own options skip pydantic too."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        plain_values(self.get_params(ctx))
        return super().parse_args(ctx, args)


class CommandGroup(typer.Typer):
    """``typer.Typer`` whose commands default to ``Command`` (plain, placeholder-free help)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("cls", Group)
        super().__init__(*args, **kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cls", Command)
        return super().command(*args, **kwargs)
