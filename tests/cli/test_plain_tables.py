"""Off a terminal, ``status`` and ``list`` write their tables without rich: the lines must be the
ones rich's tables give through ``render.tables.show_table``, whatever the values hold."""

from __future__ import annotations

import pytest

from duroxide_cli import FailureDetails, OrchestrationState
from duroxide_cli.cli import render
from duroxide_cli.cli.render import console, instances

STATES = [
    OrchestrationState("plain", "Greeting", "1.0.0", "Completed", output={"a": [1, 2], "b": "x"}, created_at_ms=1_700_000_000_123),
    OrchestrationState(
        "odd [bold]:smile: \x1b\u202e id",
        "Name\twith tab",
        None,
        "Failed",
        error="boom\nsecond line",
        failure=FailureDetails("ValueError", "boom", "Traceback:\n  line 1\n  line 2\n"),
        execution_id=12,
        custom_status="step [2] of 3",
        updated_at_ms=1_700_000_100_000,
    ),
    OrchestrationState("held-one", "Slow", "2", "Running", held="its code would diverge at event 4", custom_status={"k": None}),
    OrchestrationState("w" * 300, "x" * 40, "v", "Pending", error="no runtime is serving this store"),
]


def printed(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, draw, *, through_rich: bool) -> str:
    monkeypatch.setattr(console, "_cache", {})
    if through_rich:  # the rich table, written as plain lines by show_table (stdout is not a terminal)
        monkeypatch.setattr(instances, "plain_stdout", lambda: None)
    draw()
    monkeypatch.undo()
    return capsys.readouterr().out


@pytest.mark.parametrize("index", range(len(STATES)))
def test_status_off_a_terminal_is_what_the_rich_table_gives(capsys, monkeypatch, index):
    def draw():
        render.instance_state(STATES[index], "table")

    plain = printed(capsys, monkeypatch, draw, through_rich=False)
    assert plain == printed(capsys, monkeypatch, draw, through_rich=True)
    assert plain.startswith("instance ")


def test_list_off_a_terminal_is_what_the_rich_table_gives(capsys, monkeypatch):
    def draw():
        render.instance_list(STATES, "table")

    plain = printed(capsys, monkeypatch, draw, through_rich=False)
    assert plain == printed(capsys, monkeypatch, draw, through_rich=True)
    assert plain.splitlines()[1].startswith("────")
