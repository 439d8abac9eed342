"""``status`` and ``list`` read a SQLite file synchronously (``cli/reading.py``); every other store
through the async Client. Their plain command lines are parsed without typer (``fast_reads``),
the rest by typer. Both paths print the same thing, exit with the same code and explain the same
mistakes for the same store: here the SQLite store is read through ``fast_reads`` and the
synchronous reads, and through typer and the async Client."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from .conftest import Project, _env, duroxide, run_runtime_until

FULL_PATH = textwrap.dedent(
    """
    import sys
    from duroxide_cli.cli import reading

    reading.read_client = reading._loop_client  # the async Client, as for a PostgreSQL store
    sys.argv = ["duroxide", *sys.argv[1:]]
    from duroxide_cli.cli.app import main  # typer's command line, without fast_reads

    main()
    """
)

ARGUMENTS = [
    ["status", "done-1"],
    ["status", "done-1", "-o", "json"],
    ["status", "fail-1", "--json"],
    ["status", "wait-1", "-o", "jsonl"],
    ["status", "pending-1"],
    ["status", "pending-1", "-v"],
    ["status", "nobody"],
    ["list"],
    ["list", "-o", "json"],
    ["list", "-o", "jsonl", "--limit", "2"],
    ["list", "--limit", "2"],
    ["list", "-s", "pending", "-s", "failed"],
    ["list", "--name", "Doubler", "--count"],
    ["list", "--count", "-o", "json"],
    ["list", "--id-prefix", "zzz"],
    ["list", "--cursor", "not-a-cursor"],
    ["list", "--since", "1h", "--top-level"],
    ["status", "done-1", "--store=sqlite:///state.db", "-v"],
    ["status", "-v", "--output", "json", "done-1"],
    ["list", "--limit=1", "--count"],
    ["list", "--limit", "1", "-o", "table"],
    ["status", "done-1", "--json", "-o", "jsonl"],
    ["status", "done-1", "-o", "JSON"],
    ["status", "done-1", "-o", "yaml"],
    ["list", "--limit", "0"],
    ["status"],
    ["status", "done-1", "--store", "sqlite:///missing.db"],
    ["list", "--store", "sqlite:///missing.db"],
]


@pytest.fixture
def store(project: Project, cli) -> Project:
    """Instances Completed, Failed, Running and Pending (no runtime live) in the project's store."""
    assert cli("start", "Doubler", "--input", "21", "--id", "done-1").exit_code == 0
    run_runtime_until(project, "done-1")
    assert cli("start", "Failing", "--input", "1", "--id", "fail-1").exit_code == 0
    run_runtime_until(project, "fail-1")
    assert cli("start", "WaitForGo", "--input", "2", "--id", "wait-1").exit_code == 0
    assert cli("start", "Doubler", "--input", "3", "--id", "pending-1").exit_code == 0
    return project


def full_path(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", FULL_PATH, *args], cwd=cwd, capture_output=True, text=True, timeout=60, env=_env())


def test_the_sqlite_read_path_prints_what_the_async_client_path_prints(store: Project):
    for arguments in ARGUMENTS:
        fast, full = duroxide(*arguments, cwd=store.root), full_path(*arguments, cwd=store.root)
        assert (fast.returncode, fast.stdout, fast.stderr) == (full.returncode, full.stdout, full.stderr), arguments


def test_both_paths_refuse_a_missing_store_and_an_unknown_instance_alike(store: Project):
    missing = duroxide("list", "--store", "sqlite:///missing.db", cwd=store.root)
    assert missing.returncode == 3 and "hint: `duroxide start`" in missing.stderr
    assert not (store.root / "missing.db").exists()
    unknown = duroxide("status", "nobody", cwd=store.root)
    assert unknown.returncode == 3 and unknown.stdout == ""
