"""Values as users and stores really hold them: megabytes long, or full of control characters.

Real ``duroxide`` processes on a real SQLite file. Tables show every value whole off a terminal
and cut on one; the time a table takes grows with what it holds, not with its square; ids and
names reach the terminal escaped, never as control sequences it would obey.
"""

from __future__ import annotations

import json

from .conftest import Project, duroxide, on_terminal

_TEN_MB = 10 * 1024 * 1024


def _write_input(project: Project, value: object) -> str:
    path = project.root / "input.json"
    path.write_text(json.dumps(value))
    return f"@{path}"


def test_history_show_of_a_10_mb_payload_takes_seconds_and_is_whole_off_a_terminal(project: Project):
    huge = "x" * (_TEN_MB // 2)  # Doubler's activity doubles it: a 10 MB result and output
    started = duroxide("execute", "Doubler", "--id", "huge", "--input", _write_input(project, huge), cwd=project.root)
    assert started.returncode == 0, started.stderr
    shown = duroxide("history", "show", "huge", cwd=project.root, timeout=20)
    assert shown.returncode == 0, shown.stderr
    assert "result=" + json.dumps(huge * 2) in shown.stdout
    assert len(shown.stdout) < 4 * _TEN_MB  # linear: no row is padded to the width of the longest
    on_screen = on_terminal(project, "history", "show", "huge", columns=120)
    assert "ActivityCompleted" in on_screen and len(on_screen) < 20_000


def test_status_off_a_terminal_prints_an_output_longer_than_a_million_characters_whole(project: Project):
    value = "y" * 600_000
    assert duroxide("execute", "Doubler", "--id", "long", "--input", _write_input(project, value), cwd=project.root).returncode == 0
    status = duroxide("status", "long", cwd=project.root)
    assert status.returncode == 0, status.stderr
    assert json.dumps(value * 2) in status.stdout
    assert "…" not in status.stdout


def test_status_on_a_terminal_cuts_a_long_output_and_says_where_the_whole_value_is(project: Project):
    value = "z" * 60_000
    assert duroxide("execute", "Doubler", "--id", "long", "--input", _write_input(project, value), cwd=project.root).returncode == 0
    on_screen = on_terminal(project, "status", "long", columns=100)
    assert "more characters (see --output json)" in on_screen
    assert len(on_screen) < 20_000


_EVIL_ID = "evil\x1b[31m\nrow\x07"


def test_control_characters_in_an_id_reach_tables_escaped_and_json_exactly(project: Project):
    assert duroxide("start", "Doubler", "--no-check", "--id", _EVIL_ID, "--input", "1", cwd=project.root).returncode == 0
    listed = duroxide("list", cwd=project.root)
    assert listed.returncode == 0, listed.stderr
    row = [line for line in listed.stdout.splitlines() if line.startswith("evil")]
    assert len(row) == 1 and row[0].startswith("evil\\x1b[31m\\nrow\\x07") and "Doubler" in row[0]
    assert "\x1b" not in listed.stdout and "\x07" not in listed.stdout
    as_json = duroxide("list", "--json", cwd=project.root)
    assert [s["instance_id"] for s in json.loads(as_json.stdout)] == [_EVIL_ID]
    on_screen = on_terminal(project, "status", _EVIL_ID, raw=True)
    assert "\x1b[31m" not in on_screen and "\x07" not in on_screen
    assert "evil\\x1b[31m\\nrow\\x07" in on_screen
    history = duroxide("history", "show", _EVIL_ID, cwd=project.root)
    assert history.returncode == 0 and "\x1b" not in history.stdout


def test_an_unknown_id_with_control_characters_is_named_escaped_in_the_error(project: Project):
    assert duroxide("start", "Doubler", "--no-check", "--id", "known", cwd=project.root).returncode == 0
    missing = duroxide("status", "gone\x1b]0;pwned\x07", cwd=project.root)
    assert missing.returncode == 3
    assert "\x1b" not in missing.stderr and "gone\\x1b]0;pwned\\x07" in missing.stderr
