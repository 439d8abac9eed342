"""The two consoles (stdout for results, stderr for everything else) and plain messages.

When a stream is not a terminal nothing is coloured, wrapped or truncated (rich honours
``NO_COLOR`` on terminals too).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO, cast

from .text import cell, json_text, printable

if TYPE_CHECKING:  # rich is imported on first drawing: JSON and plain output need none of it
    from rich.console import Console
    from rich.text import Text

_STATUS_STYLE = {
    "Pending": "yellow",
    "Running": "cyan",
    "Completed": "green",
    "Failed": "red",
    "Cancelled": "magenta",
}

_cache: dict[str, tuple[TextIO, Console]] = {}


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _console(name: str, stream: TextIO) -> Console:
    cached = _cache.get(name)
    if cached is not None and cached[0] is stream:
        return cached[1]
    from rich.console import Console

    terminal = _is_terminal(stream)
    console = Console(
        file=stream if terminal else cast(TextIO, _PlainStream(stream)),
        highlight=False,
        soft_wrap=not terminal,
        width=None if terminal else 1_000_000,
        force_terminal=terminal or None,
        no_color=None if terminal else True,
        emoji=False,
    )
    _cache[name] = (stream, console)
    return console


class _PlainStream:
    """What a console writes to a pipe or file: lines without the padding tables add."""

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        # line by line, not a regular expression: a run of padding before a long cell would
        # make one quadratic
        lines = text.split("\n")
        self._stream.write("\n".join([line.rstrip(" \t") for line in lines[:-1]] + lines[-1:]))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", None) or "utf-8"


def plain_stdout() -> TextIO | None:
    """Where a result is written off a terminal (lines without trailing padding), when stdout
    surely is not one, decided as the stdout console decides without building it; None when it
    is or may be a terminal (rich then decides, through ``out()``)."""
    cached = _cache.get("out")
    if cached is not None and cached[0] is sys.stdout:
        return None if cached[1].is_terminal else cast(TextIO, cached[1].file)
    if _is_terminal(sys.stdout) or os.environ.get("TTY_COMPATIBLE") == "1" or os.environ.get("FORCE_COLOR"):
        return None
    return cast(TextIO, _PlainStream(sys.stdout))


def out() -> Console:
    """The stdout console (the result)."""
    return _console("out", sys.stdout)


def err() -> Console:
    """The stderr console (progress, logs, errors)."""
    return _console("err", sys.stderr)


def stderr_is_terminal() -> bool:
    return _is_terminal(sys.stderr)


# -- plain results and messages -----------------------------------------------------------------


def result_line(text: str) -> None:
    """One line of plain result on stdout (an instance id, a path)."""
    sys.stdout.write(printable(text) + "\n")
    sys.stdout.flush()


def json_document(document: Any) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(json_text(document, indent=2) + "\n")
    sys.stdout.flush()


def json_line(document: Any) -> None:
    """One JSON Lines record on stdout (streaming commands)."""
    sys.stdout.write(json_text(document) + "\n")
    sys.stdout.flush()


def json_result(document: Any, output: str) -> None:
    """A single-document result: indented for ``--output json``, one line for ``jsonl``."""
    if output == "jsonl":
        json_line(document)
    else:
        json_document(document)


def error(message: str) -> None:
    from rich.text import Text

    err().print(Text.assemble(("error: ", "bold red"), printable(message, lines=True)))


def warning(message: str) -> None:
    from rich.text import Text

    err().print(Text.assemble(("warning: ", "bold yellow"), printable(message, lines=True)))


def note(message: str, style: str = "") -> None:
    """A progress or hint line on stderr."""
    from rich.text import Text

    err().print(Text(printable(message, lines=True), style=style))


def user_traceback(text: str) -> None:
    """The traceback of the user's own code (an app that fails to import)."""
    text = printable(text, lines=True)
    sys.stderr.write(text if text.endswith("\n") else text + "\n")
    sys.stderr.flush()


class ConsoleLogHandler(logging.Handler):
    """Log records through the stderr console, so they scroll above ``run``'s live view."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from rich.text import Text

            err().print(Text(printable(self.format(record), lines=True), style=_LOG_STYLE.get(record.levelno, "")), soft_wrap=True)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


_LOG_STYLE = {logging.ERROR: "red", logging.CRITICAL: "bold red", logging.WARNING: "yellow", logging.DEBUG: "dim"}


def status_text(status: str) -> Text:
    from rich.text import Text

    return Text(status, style=_STATUS_STYLE.get(status, ""))


def format_time(epoch_ms: int | None) -> str:
    if not epoch_ms:
        return ""
    seconds = epoch_ms / 1000
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds)) + f".{epoch_ms % 1000:03d}"


def kind_style(kind: str) -> str:
    if kind.endswith("Failed") or kind == "OrchestrationCancelled":
        return "red"
    if kind in ("OrchestrationCompleted", "ContinuedAsNew"):
        return "green"
    if kind.endswith(("Completed", "Fired", "Raised")):
        return "cyan"
    return ""


def line_cell(text: str, style: str = "") -> Text:
    """A table cell that stays on one line (ellipsised on a narrow terminal).

    Tables give it to their free-text columns, which they leave wrappable: rich narrows those
    first, so the columns that identify a row (ids, kinds, statuses) keep their width."""
    shown = cell(text, style)
    shown.no_wrap = True
    shown.overflow = "ellipsis"
    return shown


def clip(text: str, console: Console, limit: int = 100) -> str:
    """``text`` escaped (see ``text.printable``) and, on a terminal, cut to ``limit``."""
    text = printable(text)
    if not console.is_terminal or len(text) <= limit:
        return text
    return text[: limit - 3] + "..."


def duration(ms: int) -> str:
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
