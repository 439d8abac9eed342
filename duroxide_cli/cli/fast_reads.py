"""``duroxide status ID`` and ``duroxide list`` in their plain forms, answered without typer.

Importing typer and building a command costs these two commands more than reading the store and
printing the answer. ``parse`` recognises only the plainest command lines: the command name, then
the options of ``STATUS`` or ``LIST`` as ``--name VALUE``, ``--name=VALUE``, ``-x VALUE`` or a
flag, each at most once, with values that need no conversion typer could do differently (an
output format spelt in lower case, a limit in digits), and ``status``'s one ID. Anything else
(``--help``, another option, a repeated one, a value that starts with ``-``, shell completion)
is left to the typer command line, which parses it, explains a mistake and prints help as it
always does. Both then run the same function (``read_commands``); the tests compare this table
with the typer commands' options and the outputs of both ways.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

COMPLETE_VAR = "_DUROXIDE_COMPLETE"
"""Set while the shell asks typer for completions: then typer must answer."""

OUTPUT_FORMATS = ("table", "json", "jsonl")


class Option(NamedTuple):
    """One option: the parameter it sets, and whether it is a flag (no value)."""

    parameter: str
    flag: bool = False


_COMMON: dict[str, Option] = {
    "--output": Option("output"),
    "-o": Option("output"),
    "--json": Option("json_output", flag=True),
    "--store": Option("store"),
    "--verbose": Option("verbose", flag=True),
    "-v": Option("verbose", flag=True),
}

STATUS: dict[str, Option] = dict(_COMMON)
"""The options of ``status`` this module parses (all of them)."""

LIST: dict[str, Option] = {**_COMMON, "--limit": Option("limit"), "--count": Option("count", flag=True)}
"""The options of ``list`` this module parses (its filters and ``--cursor`` are left to typer)."""


class Call(NamedTuple):
    """What a command line asks: the ``read_commands`` function and its keyword arguments."""

    command: str
    arguments: dict[str, Any]


def parse(argv: Sequence[str]) -> Call | None:
    """The call ``argv`` (without the program name) asks for, or None if typer must parse it."""
    if not argv or argv[0] not in ("status", "list"):
        return None
    table = STATUS if argv[0] == "status" else LIST
    arguments: dict[str, Any] = {}
    positional: list[str] = []
    rest = list(argv[1:])
    while rest:
        word = rest.pop(0)
        if not word.startswith("-"):
            positional.append(word)
            continue
        name, equals, value = word.partition("=")
        option = table.get(name)
        if option is None or option.parameter in arguments or (equals and not name.startswith("--")):
            return None
        if option.flag:
            if equals:
                return None
            arguments[option.parameter] = True
            continue
        if not equals:
            if not rest:
                return None
            value = rest.pop(0)
        converted = _convert(option.parameter, value)
        if converted is None:
            return None
        arguments[option.parameter] = converted
    if argv[0] == "status":
        if len(positional) != 1:
            return None
        return Call("status", {"instance_id": positional[0], **arguments})
    return None if positional else Call("list", arguments)


def _convert(parameter: str, value: str) -> Any:
    """The value typer would give ``parameter`` for ``value``, or None where this module leaves
    the conversion (or the mistake) to typer."""
    if value.startswith("-") or not value:
        return None
    if parameter == "output":
        if value not in OUTPUT_FORMATS:
            return None
        from .output_format import OutputFormat

        return OutputFormat(value)
    if parameter == "limit":
        if not (value.isascii() and value.isdigit()) or int(value) < 1:
            return None
        return int(value)
    return value


def run(argv: Sequence[str]) -> None:
    """Answer ``argv`` here if ``parse`` recognises it, ending the process as the typer command
    line would (``SystemExit`` with the command's code); otherwise return, for typer to run it."""
    if COMPLETE_VAR in os.environ:
        return
    call = parse(argv)
    if call is None:
        return
    from . import read_commands
    from .failures import explained

    command: Callable[..., None] = read_commands.show_status if call.command == "status" else read_commands.list_instances
    try:
        with explained(SystemExit):
            command(**call.arguments)
    except OSError as error:  # as typer's command line ends on a closed pipe
        if error.errno != errno.EPIPE:
            raise
        sys.stdout = _Quiet(sys.stdout)
        sys.stderr = _Quiet(sys.stderr)
        raise SystemExit(1) from None
    raise SystemExit(0)


class _Quiet:
    """A stream whose flush ignores a closed pipe (click's ``PacifyFlushWrapper``): the
    interpreter's last flush at exit then prints no second error."""

    def __init__(self, wrapped: Any):
        self.wrapped = wrapped

    def flush(self) -> None:
        try:
            self.wrapped.flush()
        except OSError as error:
            if error.errno != errno.EPIPE:
                raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)
