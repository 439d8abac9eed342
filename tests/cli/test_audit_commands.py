"""Requirements of the command-line issue and DESIGN §6/§8 that no other test pinned down."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from duroxide_cli.cli.config import load_settings
from duroxide_cli.model.options import RuntimeOptions

from .conftest import Project, duroxide


def only_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{text}"
    return lines[0]


# -- configuration ----------------------------------------------------------------------------------------


_VALUES = {"worker_id": ("w-env", "w-env"), "cache_size": ("0", 0)}


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(RuntimeOptions)])
def test_every_runtime_option_has_its_duroxide_variable(project: Project, field: str):
    raw, expected = _VALUES.get(field, ("7", 7))
    options = load_settings(cwd=project.root, environ={f"DUROXIDE_{field.upper()}": raw}).runtime_options()
    assert getattr(options, field) == expected


def test_a_bad_log_level_in_the_toml_names_the_toml_not_the_variable(cli, project: Project):
    (project.root / "duroxide.toml").write_text('[app]\nmodule = "app.py"\n[log]\nlevel = "loud"\n')
    result = cli("list")
    assert result.exit_code == 2
    line = only_line(result.stderr)
    assert "[log] level" in line and "duroxide.toml" in line and "'loud'" in line
    assert "DUROXIDE_LOG" not in line


def test_a_bad_duroxide_log_variable_is_named(cli, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DUROXIDE_LOG", "loud")
    result = cli("list")
    assert result.exit_code == 2 and "DUROXIDE_LOG" in only_line(result.stderr)


# -- output -------------------------------------------------------------------------------------------------


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


# -- history inspect: pending timers and running activities -----------------------------------------------------


SLOW = '''

@app.activity("Slow")
async def slow(ctx, x):
    import asyncio
    await asyncio.sleep(30)


@app.orchestration("SlowWork")
def slow_work(ctx, x):
    yield ctx.schedule_activity("Slow", x)


@app.orchestration("Sleeper")
def sleeper(ctx, x):
    yield ctx.schedule_timer(3_600_000)
'''


def test_history_inspect_lists_an_open_timer_with_its_fire_time_and_a_running_activity(cli, project: Project):
    project.app_file.write_text(project.app_file.read_text() + SLOW)
    assert cli("execute", "Sleeper", "--id", "sleeper", "--timeout", "500").exit_code == 4
    assert cli("execute", "SlowWork", "--id", "slow", "--timeout", "500").exit_code == 4

    timer = json.loads(cli("history", "inspect", "sleeper", "--json").stdout)
    [pending] = timer["pending"]
    created = next(e["event"] for e in timer["events"] if e["event"]["kind"] == "TimerCreated")
    assert pending["kind"] == "timer" and pending["fire_at_ms"] == created["fire_at_ms"]
    text = cli("history", "inspect", "sleeper").stdout
    assert re.search(r"fires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \(in 59m\d\ds\)", text)

    activity = json.loads(cli("history", "inspect", "slow", "--json").stdout)
    assert [(p["kind"], p["name"]) for p in activity["pending"]] == [("activity", "Slow")]
    assert "activity   Slow" in cli("history", "inspect", "slow").stdout


# -- init's example -------------------------------------------------------------------------------------------


def test_the_init_example_runs_without_input_too(cli, project: Project, monkeypatch: pytest.MonkeyPatch):
    assert cli("init", "fresh").exit_code == 0
    monkeypatch.chdir(project.root / "fresh")
    result = cli("execute", "Greeting")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"greetings": ["Hello, world!"], "reply": None}


# -- completion --------------------------------------------------------------------------------------------------


def test_shell_completion_completes_commands_and_subcommands(project: Project):
    import os

    env = {**os.environ, "_DUROXIDE_COMPLETE": "complete_bash", "COMP_WORDS": "duroxide hist", "COMP_CWORD": "1"}
    assert duroxide(cwd=project.root, env=env).stdout.split() == ["history"]
    env.update(COMP_WORDS="duroxide history ", COMP_CWORD="2")
    assert set(duroxide(cwd=project.root, env=env).stdout.split()) == {"show", "tail", "inspect", "export"}
    assert "--install-completion" in duroxide("--help", cwd=project.root).stdout
