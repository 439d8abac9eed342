"""Output on a terminal: an 80-column terminal still shows the columns that identify a row.

A real pseudo-terminal, so the tables are drawn as a user sees them (rich takes the width from
COLUMNS); NO_COLOR keeps colour codes out, and the bold codes that remain are stripped.
"""

from __future__ import annotations

import json

from .conftest import Project, on_terminal


def rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_history_show_keeps_the_event_id_and_time_columns_on_an_80_column_terminal(cli, project: Project):
    payload = ["x" * 40, "a payload longer than the details column"]
    assert cli("execute", "Doubler", "--id", "wide", "--input", json.dumps(payload)).exit_code == 0
    table = rows(on_terminal(project, "history", "show", "wide"))
    assert table[1].split()[:2] == ["#", "time"]
    assert [line.split()[0] for line in table[3:]] == ["1", "2", "3", "4"]
    assert "+0." in table[3] and "OrchestrationStarted" in table[3] and "Doubler" in table[3]
    assert all(len(line) <= 80 for line in table)


def test_list_keeps_the_instance_id_and_status_on_an_80_column_terminal(cli, project: Project):
    assert cli("execute", "Doubler", "--id", "doubler-instance-1", "--input", "2").exit_code == 0
    assert cli("execute", "Failing", "--id", "failing-instance-1", "--input", "2").exit_code == 1
    table = rows(on_terminal(project, "list"))
    assert table[0].split()[:2] == ["instance", "orchestration"]
    assert any(line.split()[:2] == ["failing-instance-1", "Failing"] and "Failed" in line for line in table)
    assert any(line.split()[:2] == ["doubler-instance-1", "Doubler"] and "Completed" in line for line in table)
    assert all(len(line) <= 80 for line in table)


def test_replay_keeps_the_event_ids_on_an_80_column_terminal(cli, project: Project):
    assert cli("execute", "Doubler", "--id", "replayed-on-a-terminal", "--input", "2").exit_code == 0
    report = rows(on_terminal(project, "replay", "replayed-on-a-terminal"))
    steps = [line.split() for line in report if line.split()[0].isdigit()]
    assert [step[0] for step in steps] == ["1", "2", "3", "4"]
    assert steps[1][1:3] == ["ActivityScheduled", "Double"]
    assert all(len(line) <= 80 for line in report)
