"""How a stored string is shown: the one place that decides it for tables and messages.

Ids, names, payloads and error texts come from users and from the store, so they may hold
control characters (an ESC sequence the terminal would obey, a newline that splits a row),
bidirectional overrides, or lone surrogates (undecodable bytes; they cannot be written as UTF-8
at all). Tables and messages show those characters as Python-style escapes (``\\x1b``, ``\\n``,
``\\u202e``, ``\\udcff``); JSON output keeps every string exact (see ``json_text``).

On a terminal a long value is also cut, with a note that says where the whole value is; output
that is not a terminal is never cut.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich is imported with the first cell: escaping and JSON need none of it
    from rich.console import Console
    from rich.text import Text

_OTHERS = "\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE = re.compile(f"[\x00-\x1f{_OTHERS}]")
_UNSAFE_BUT_NEWLINE = re.compile(f"[\x00-\x09\x0b-\x1f{_OTHERS}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_SURROGATE = re.compile("[\ud800-\udfff]")

TERMINAL_CELL_CHARS = 1000
"""On a terminal, a one-line cell is cut to this many characters before the table lays it out
(the table then ellipsises it to the column's width), so a 10 MB payload costs no more to draw
than a short one."""

TERMINAL_BLOCK_LINES = 200
"""On a terminal, a multi-line value (indented JSON, a traceback) shows at most this many lines."""


def printable(text: str, *, lines: bool = False) -> str:
    """``text`` with control characters, bidirectional overrides and lone surrogates escaped;
    with ``lines`` newlines stay (a traceback, indented JSON)."""
    pattern = _UNSAFE_BUT_NEWLINE if lines else _UNSAFE
    return pattern.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def cell(text: str, style: str = "", *, console: Console | None = None) -> Text:
    """A one-line table cell: escaped, and cut on a terminal (``console``, else stdout's)."""
    from rich.text import Text

    if len(text) > TERMINAL_CELL_CHARS and _on_terminal(console):
        text = text[:TERMINAL_CELL_CHARS]
    return Text(printable(text), style=style)


def block(text: str, style: str = "", *, console: Console | None = None, cut: bool = True) -> Text:
    """A multi-line table cell (indented JSON, a traceback): escaped but for its newlines; on a
    terminal (unless ``cut`` is false) cut to a screenful, with a last line that says so."""
    from rich.text import Text

    if cut and _on_terminal(console):
        shown = text[: TERMINAL_BLOCK_LINES * TERMINAL_CELL_CHARS]
        kept = shown.split("\n", TERMINAL_BLOCK_LINES)[:TERMINAL_BLOCK_LINES]
        kept = [line[:TERMINAL_CELL_CHARS] for line in kept]
        head = "\n".join(kept)
        if head != text:
            more = len(text) - len(head)
            return Text.assemble((printable(head, lines=True), style), (f"\n… {more:,} more characters (see --output json)", "dim"))
    return Text(printable(text, lines=True), style=style)


def _on_terminal(console: Console | None) -> bool:
    if console is None:
        from .console import out

        console = out()
    return console.is_terminal


def json_text(document: Any, *, indent: int | None = None) -> str:
    """JSON text of ``document`` that any stream can carry: a lone surrogate in a string is
    written as its ``\\udcff`` escape, so the document reads back exactly as it was."""
    separators = None if indent is not None else (",", ":")
    text = json.dumps(document, indent=indent, ensure_ascii=False, separators=separators, default=str)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
