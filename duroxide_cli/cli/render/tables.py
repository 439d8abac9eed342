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
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is imported where a table is drawn: plain lines need none of it
    from rich.console import Console, RenderableType
    from rich.table import Table

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
    lines = [_plain(table.title)] if table.title else []
    rows = [list(row) for row in zip(*body, strict=True)]
    lines.extend(grid_lines(rows, header, [column.justify for column in columns], gap, rule=table.box is not None))
    return lines


def grid_lines(
    rows: Sequence[Sequence[list[str]]], header: Sequence[list[str]] | None, justify: Sequence[str], gap: str, *, rule: bool
) -> list[str]:
    """The plain lines of a table given as cells (each a list of lines): the header, a rule
    under it when ``rule``, then the rows, columns ``gap`` apart."""
    widths = [_width([row[i] for row in rows] + ([header[i]] if header else [])) for i in range(len(justify))]
    lines: list[str] = []
    if header:
        lines.extend(_row(header, widths, justify, gap))
        if rule:
            lines.append("─" * (sum(widths) + len(gap) * (len(widths) - 1)))
    for row in rows:
        lines.extend(_row(row, widths, justify, gap))
    return lines


def write_plain_table(rows: Sequence[Sequence[str]], header: Sequence[str] | None = None, *, boxed: bool) -> None:
    """Write a table of plain strings to stdout off a terminal (``console.plain_stdout``), as
    ``show_table`` writes a rich ``Table`` of the same cells with rich's default padding
    (``boxed``: with a box, which rules the header off and divides the columns), but without
    importing rich."""
    from .console import plain_stdout

    columns = len(header) if header is not None else len(rows[0]) if rows else 0
    if not columns:
        return
    gap = " " * (3 if boxed else 2)  # a space on each side of a cell, and the box's divider
    cells = [[text.split("\n") for text in row] for row in rows]
    head = [text.split("\n") for text in header] if header is not None else None
    stream = plain_stdout()
    assert stream is not None, "write_plain_table is for stdout off a terminal"
    stream.write("".join(line + "\n" for line in grid_lines(cells, head, ["left"] * columns, gap, rule=boxed)))
    stream.flush()


def _row(cells: Sequence[list[str]], widths: Sequence[int], justify: Sequence[str], gap: str) -> Iterable[str]:
    for parts in zip_longest(*cells, fillvalue=""):
        pieces = [part.rjust(width) if how == "right" else part.ljust(width) for part, width, how in zip(parts, widths, justify, strict=True)]
        yield gap.join(pieces).rstrip()


def _width(cells: Iterable[list[str]]) -> int:
    return max((len(line) for lines in cells for line in lines if len(line) <= ALIGN_CHARS), default=0)


def _lines(renderable: RenderableType) -> list[str]:
    return _plain(renderable).split("\n")


def _plain(renderable: RenderableType) -> str:
    from rich.text import Text

    if isinstance(renderable, Text):
        return renderable.plain
    if isinstance(renderable, str):
        return Text.from_markup(renderable).plain
    return str(renderable)
