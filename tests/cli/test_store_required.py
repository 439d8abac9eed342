"""Reading never creates a store; ``-v`` says which store (and app) a command uses."""

from __future__ import annotations

import pytest

from .conftest import Project, duroxide

READING_COMMANDS = [
    ["status", "x"],
    ["wait", "x", "--timeout", "100"],
    ["list"],
    ["list", "--count"],
    ["tree", "x"],
    ["metrics"],
    ["workers"],
    ["raise", "x", "Go"],
    ["cancel", "x"],
    ["delete", "x"],
    ["history", "show", "x"],
    ["history", "tail", "x"],
    ["history", "inspect", "x"],
    ["history", "export", "x"],
    ["replay", "x"],
    ["replay", "--running"],
]


def run(project: Project, *args: str):
    return duroxide(*args, cwd=project.root)


@pytest.mark.parametrize("args", READING_COMMANDS, ids=" ".join)
def test_a_reading_command_on_a_missing_store_exits_3_and_creates_nothing(project: Project, args: list[str]):
    store = project.root / "state.db"
    result = run(project, *args)
    assert result.returncode == 3, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"error: no store at {store.resolve()}"
    assert len(lines) == 2 and lines[1].startswith("hint: ") and "duroxide start" in lines[1]
    assert not store.exists() and not list(project.root.glob("state.db*"))


def test_start_creates_the_store_that_reading_commands_then_use(project: Project):
    assert run(project, "start", "Doubler", "--id", "d-1").returncode == 0
    assert (project.root / "state.db").exists()
    assert run(project, "status", "d-1").returncode == 0


def test_a_missing_store_named_by_flag_is_reported_with_its_absolute_path(project: Project):
    (project.root / "sub").mkdir()
    result = duroxide("list", "--store", "sqlite:///other.db", cwd=project.root / "sub")  # relative to the working directory
    assert result.returncode == 3
    assert f"no store at {(project.root / 'sub' / 'other.db').resolve()}" in result.stderr


def test_verbose_prints_the_store_and_the_app_on_stderr(project: Project):
    store = f"sqlite:///state.db ({(project.root / 'state.db').resolve()})"
    started = run(project, "start", "Doubler", "--id", "d-1", "-v")
    assert started.returncode == 0 and started.stdout == "d-1\n"
    assert f"store: {store}" in started.stderr and "app: app.py" in started.stderr
    for args in (["list"], ["status", "d-1"], ["metrics"], ["history", "show", "d-1"], ["tree", "d-1"]):
        result = run(project, *args, "--verbose")
        assert result.returncode == 0, (args, result.stderr)
        assert result.stderr.splitlines()[0] == f"store: {store}", args
        assert "store:" not in result.stdout
    missing = duroxide("status", "x", "-v", "--store", "sqlite:///elsewhere.db", cwd=project.root)
    assert missing.returncode == 3 and missing.stderr.startswith("store: sqlite:///elsewhere.db")


def test_dash_v_never_means_version(project: Project):
    assert run(project, "--version").stdout.startswith("duroxide ")
    assert run(project, "-v").returncode == 2
    pinned = run(project, "start", "Doubler", "--version", "1.0.0", "-v")
    assert pinned.returncode == 0 and "store:" in pinned.stderr
    refused = run(project, "start", "Doubler", "--version", "9.9.9")
    assert refused.returncode == 2 and "has no version 9.9.9" in refused.stderr
