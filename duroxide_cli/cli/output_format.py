"""How a read command prints its result (``--output``, ``--json``), without typer."""

from __future__ import annotations

from enum import Enum

from .failures import usage_error


class OutputFormat(str, Enum):
    """How a read command prints its result."""

    TABLE = "table"
    JSON = "json"
    JSONL = "jsonl"


def resolve_output(output: OutputFormat | None, json_flag: bool) -> OutputFormat:
    """The format ``--output`` and its synonym ``--json`` ask for (table when neither is given)."""
    if json_flag and output not in (None, OutputFormat.JSON):
        assert output is not None
        raise usage_error(f"--json means --output json; it does not go with --output {output.value}")
    return OutputFormat.JSON if json_flag else (output or OutputFormat.TABLE)
