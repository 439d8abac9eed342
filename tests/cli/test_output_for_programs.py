"""Output read by programs: a pipe gets whole, plain lines, and every command that reads state takes --json."""

from __future__ import annotations

import json

import pytest


def test_output_to_a_pipe_is_not_truncated_wrapped_or_coloured_even_without_no_color(cli, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("NO_COLOR")
    long_value = ["a value that is much longer than any terminal is wide " * 4]
    assert cli("execute", "Doubler", "--id", "a-very-long-instance-id-" + "x" * 60, "--input", json.dumps(long_value)).exit_code == 0
    for args in (["history", "show", "a-very-long-instance-id-" + "x" * 60], ["list"], ["status", "a-very-long-instance-id-" + "x" * 60]):
        result = cli(*args)
        assert result.exit_code == 0
        assert "\x1b[" not in result.stdout and "…" not in result.stdout and "..." not in result.stdout
        assert "a-very-long-instance-id-" + "x" * 60 in result.stdout or args[0] == "history"
    shown = cli("history", "show", "a-very-long-instance-id-" + "x" * 60).stdout
    assert json.dumps(long_value, separators=(",", ":")) in shown


def test_history_export_accepts_json_like_every_command_that_reads_state(cli):
    assert cli("execute", "Doubler", "--input", "2", "--id", "e-1").exit_code == 0
    plain = cli("history", "export", "e-1")
    flagged = cli("history", "export", "e-1", "--json")
    assert flagged.exit_code == 0 and json.loads(flagged.stdout) == json.loads(plain.stdout)
