"""Tables: drawn by rich on a terminal, written as plain aligned lines anywhere else.

Off a terminal nothing may be cut or wrapped, whatever the length of a value, so a table is not
laid out to a width there: each column is as wide as its widest cell (a cell longer than
``ALIGN_CHARS`` does not widen its column; it pushes the rest of its own line to the right), a
multi-line cell continues under its column, and lines carry no trailing spaces. Writing a table
costs time linear in what it holds, a 10 MB payload included.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import zip_longest

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

ALIGN_CHARS = 256
"""Off a terminal, cells longer than this do not set their column's width."""


def show_table(table: Table, console: Console) -> None:
    """Print ``table`` on ``console``: rich's drawing on a terminal, plain lines elsewhere."""
    if console.is_terminal:
        console.print(table)
        return
    console.file.write("".join(line + "\n" for line in plain_lines(table)))
    console.file.flush()


def plain_lines(table: Table) -> list[str]:
    """The lines of ``table`` without a layout width (see the module's docstring)."""
    columns = table.columns
    if not columns:
        return []
    _, right, _, left = table.padding
    gap = " " * (right + left + (1 if table.box is not None else 0))
    body = [[_lines(c) for c in column.cells] for column in columns]
    header = [_lines(column.header) for column in columns] if table.show_header else None
    widths = [_width(cells + ([header[i]] if header else [])) for i, cells in enumerate(body)]
    justify = [column.justify for column in columns]
    lines: list[str] = []
    if table.title:
        lines.append(_plain(table.title))
    if header:
        lines.extend(_row(header, widths, justify, gap))
        if table.box is not None:
            lines.append("─" * (sum(widths) + len(gap) * (len(widths) - 1)))
    for row in zip(*body, strict=True):
        lines.extend(_row(list(row), widths, justify, gap))
    return lines


def _row(cells: Sequence[list[str]], widths: Sequence[int], justify: Sequence[str], gap: str) -> Iterable[str]:
    for parts in zip_longest(*cells, fillvalue=""):
        pieces = [part.rjust(width) if how == "right" else part.ljust(width) for part, width, how in zip(parts, widths, justify, strict=True)]
        yield gap.join(pieces).rstrip()


def _width(cells: Iterable[list[str]]) -> int:
    return max((len(line) for lines in cells for line in lines if len(line) <= ALIGN_CHARS), default=0)


def _lines(renderable: RenderableType) -> list[str]:
    return _plain(renderable).split("\n")


def _plain(renderable: RenderableType) -> str:
    if isinstance(renderable, Text):
        return renderable.plain
    if isinstance(renderable, str):
        return Text.from_markup(renderable).plain
    return str(renderable)
