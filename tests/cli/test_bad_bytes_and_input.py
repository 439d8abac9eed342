"""Bad bytes and extreme input: each is one clear line on stderr and exit 2, never a traceback.

Real ``duroxide`` processes on a real SQLite file. Strings UTF-8 cannot encode (lone surrogates,
from undecodable bytes) are refused where they enter; what a store already holds still prints.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess

import pytest

from .conftest import CLI, Project, _env, duroxide


def _one_line_usage_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def _duroxide_bytes(project: Project, *args: bytes) -> subprocess.CompletedProcess[str]:
    """``duroxide`` with arguments given as raw bytes (as a shell passes $'bad\\xff')."""
    command = [os.fsencode(part) for part in CLI] + list(args)
    return subprocess.run(command, cwd=project.root, capture_output=True, text=True, timeout=60, env=_env())


def test_an_argument_with_undecodable_bytes_is_a_usage_error(project: Project):
    assert duroxide("start", "Doubler", "--id", "known", cwd=project.root).returncode == 0
    _one_line_usage_error(_duroxide_bytes(project, b"status", b"bad\xff"), "'bad\\xff'", "not UTF-8")
    _one_line_usage_error(_duroxide_bytes(project, b"start", b"Doubler", b"--input", b'"\xfe"'), "not UTF-8")


def test_an_input_file_that_is_not_utf8_is_a_usage_error(project: Project):
    (project.root / "latin1.json").write_bytes('"caf\xe9"'.encode("latin-1"))
    _one_line_usage_error(duroxide("start", "Doubler", "--input", "@latin1.json", cwd=project.root), "latin1.json", "not UTF-8")


def test_a_lone_surrogate_in_json_input_is_refused_naming_its_path(project: Project):
    result = duroxide("start", "Doubler", "--input", '{"name": ["ok", "\\ud800"]}', cwd=project.root)
    _one_line_usage_error(result, "--input['name'][1]", "lone surrogate")


def test_a_nul_character_in_json_input_or_event_data_is_refused_naming_its_path(project: Project):
    result = duroxide("start", "Doubler", "--id", "nul", "--input", '{"name": ["ok", "a\\u0000b"]}', cwd=project.root)
    _one_line_usage_error(result, "--input['name'][1]", "NUL character")
    assert duroxide("start", "Doubler", "--id", "known", cwd=project.root).returncode == 0
    _one_line_usage_error(duroxide("raise", "known", "Go", "--data", '"\\u0000"', cwd=project.root), "--data", "NUL character")


@pytest.mark.parametrize("depth", [300, 1000, 100_000])
def test_json_nested_too_deep_is_a_usage_error(project: Project, depth: int):
    (project.root / "deep.json").write_text("[" * depth + "]" * depth)
    _one_line_usage_error(duroxide("start", "Doubler", "--input", "@deep.json", cwd=project.root), "deep")


def test_a_config_file_that_is_not_utf8_is_a_usage_error(project: Project):
    (project.root / "duroxide.toml").write_bytes(b'[app]\nmodule = "app\xff.py"\n')
    _one_line_usage_error(duroxide("list", cwd=project.root), "duroxide.toml", "not UTF-8")


def test_a_list_limit_past_what_a_store_can_count_is_a_usage_error(project: Project):
    assert duroxide("start", "Doubler", "--id", "known", cwd=project.root).returncode == 0
    _one_line_usage_error(duroxide("list", "--limit", "99999999999999999999", cwd=project.root), "--limit")


# -- replay --file ----------------------------------------------------------------------------------


@pytest.fixture
def exported(project: Project) -> dict:
    assert duroxide("execute", "Doubler", "--id", "d", "--input", "2", cwd=project.root).returncode == 0
    return json.loads(duroxide("history", "export", "d", cwd=project.root).stdout)


def _replay_file(project: Project, document: object) -> subprocess.CompletedProcess[str]:
    (project.root / "history.json").write_text(json.dumps(document))
    return duroxide("replay", "--file", "history.json", cwd=project.root)


def test_replay_file_as_exported_is_consistent(project: Project, exported: dict):
    assert _replay_file(project, exported).returncode == 0


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("name", ["a"], "event 2 (ActivityScheduled): name must be a string"),
        ("attempt", "x", "event 2 (ActivityScheduled): attempt must be an integer"),
        ("event_id", "two", 'event "two": event_id must be an integer'),
    ],
)
def test_replay_file_with_a_field_of_the_wrong_type_names_the_event_and_field(project: Project, exported: dict, field, value, needle):
    exported["events"][1][field] = value
    _one_line_usage_error(_replay_file(project, exported), needle)


def test_replay_file_with_a_completion_source_of_the_wrong_type_names_it(project: Project, exported: dict):
    exported["events"][2]["source_event_id"] = "two"
    _one_line_usage_error(_replay_file(project, exported), "event 3 (ActivityCompleted): source_event_id must be an integer")


def test_replay_file_with_a_duplicate_event_id_is_refused(project: Project, exported: dict):
    exported["events"].insert(2, dict(exported["events"][1]))
    _one_line_usage_error(_replay_file(project, exported), "a second event with id 2")


def test_replay_file_with_a_duplicate_completion_is_refused(project: Project, exported: dict):
    events = exported["events"]
    events.insert(3, {**events[2], "event_id": 4})
    for number, event in enumerate(events, 1):
        event["event_id"] = number
    _one_line_usage_error(_replay_file(project, exported), "completes event 2, which event 3 already completed")


def test_replay_file_that_is_not_utf8_or_nests_too_deep_is_a_usage_error(project: Project, exported: dict):
    (project.root / "history.json").write_bytes(json.dumps(exported).encode().replace(b'"d"', b'"d\xff"'))
    _one_line_usage_error(duroxide("replay", "--file", "history.json", cwd=project.root), "not UTF-8")
    (project.root / "history.json").write_text("[" * 5000 + "]" * 5000)
    _one_line_usage_error(duroxide("replay", "--file", "history.json", cwd=project.root), "too deeply")


# -- what activities return, and what a store already holds -----------------------------------------

_ODD_ACTIVITIES = '''

@app.activity("OddName")
async def odd_name(ctx, x):
    import os
    return {"file": os.fsdecode(b"report-\\xff.txt")}


@app.activity("OpenOdd")
def open_odd(ctx, x):
    import os
    open(os.fsdecode(b"/nonexistent/report-\\xff.txt"))


@app.orchestration("OddFiles")
def odd_files(ctx, which):
    return (yield ctx.schedule_activity(which, None))
'''


def test_an_activity_returning_undecodable_bytes_fails_that_activity_naming_the_path(project: Project):
    project.app_file.write_text(project.app_file.read_text() + _ODD_ACTIVITIES)
    result = duroxide("execute", "OddFiles", "--id", "odd", "--input", '"OddName"', cwd=project.root)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    state = json.loads(duroxide("status", "odd", "--json", cwd=project.root).stdout)
    assert state["status"] == "Failed"
    assert "ActivityError" in state["error"] and "the result of activity 'OddName'['file'] holds a lone surrogate" in state["error"]
    failed = duroxide("execute", "OddFiles", "--id", "open", "--input", '"OpenOdd"', cwd=project.root)
    assert failed.returncode == 1
    shown = duroxide("status", "open", cwd=project.root)
    assert shown.returncode == 0 and "report-\\udcff.txt" in shown.stdout


def test_a_lone_surrogate_already_in_the_store_prints_escaped_and_json_reads_back_exact(project: Project):
    assert duroxide("execute", "Doubler", "--id", "s", "--input", '"PLACE"', cwd=project.root).returncode == 0
    with sqlite3.connect(project.root / "state.db") as db:
        db.execute("UPDATE instances SET output = replace(output, 'PLACE', '\\ud800')")
        db.execute("UPDATE history SET body = replace(body, 'PLACE', '\\ud800')")
    for args in (["status", "s"], ["wait", "s"], ["list"], ["history", "show", "s"], ["history", "inspect", "s"]):
        result = duroxide(*args, cwd=project.root)
        assert result.returncode == 0 and "Traceback" not in result.stderr, (args, result.stderr)
        assert "\\ud800" in result.stdout or args == ["list"], args
    for args in (["status", "s", "--json"], ["list", "--json"], ["history", "export", "s"], ["history", "show", "s", "-o", "jsonl"]):
        result = duroxide(*args, cwd=project.root)
        assert result.returncode == 0 and "Traceback" not in result.stderr, (args, result.stderr)
        assert "\\ud800" in result.stdout
    state = json.loads(duroxide("status", "s", "--json", cwd=project.root).stdout)
    assert state["output"] == "\ud800" * 2
