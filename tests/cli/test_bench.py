"""``duroxide bench`` through real processes: every workload, its JSON Lines, fresh stores only."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from .conftest import Project, duroxide

WORKLOADS = ["hello", "fanout", "chain", "timers", "events", "backlog"]
FIELDS = ["workload", "n", "seconds", "rate", "p50_ms", "p99_ms", "store"]


def _listing(root: Path) -> dict[str, str]:
    """Every file under ``root`` with a hash of its bytes."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_every_workload_runs_and_prints_one_json_line_each(project: Project):
    result = duroxide("bench", "-n", "3", "--output", "jsonl", cwd=project.root)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["workload"] for r in records] == WORKLOADS
    for record in records:
        assert list(record) == FIELDS
        assert record["seconds"] > 0 and record["rate"] > 0
        assert 0 <= record["p50_ms"] <= record["p99_ms"]
        assert record["store"] == "sqlite (synchronous=full)"
    assert {r["workload"]: r["n"] for r in records} == {**dict.fromkeys(WORKLOADS, 3), "backlog": 30}


def test_rate_paces_the_starts_of_timers_and_events_and_keeps_the_json_shape(project: Project):
    result = duroxide("bench", "-w", "timers,events", "-n", "5", "--rate", "20", "-o", "jsonl", cwd=project.root)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["workload"] for r in records] == ["timers", "events"]
    for record in records:
        assert list(record) == FIELDS and record["n"] == 5
        # five starts 50 ms apart: the first start to the last completion spans at least 200 ms,
        # so the rate reported cannot exceed the arrival rate by more than n / (n - 1)
        assert record["seconds"] >= 0.2
        assert record["rate"] <= 25


def test_rate_leaves_hello_started_together(project: Project):
    result = duroxide("bench", "-w", "hello", "-n", "5", "--rate", "1", "-o", "jsonl", cwd=project.root)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["seconds"] < 4  # at 1/s, five paced starts would take 4 s


def test_json_is_json_lines_too_and_the_table_is_the_default(project: Project):
    as_json = duroxide("bench", "-w", "hello", "-n", "2", "--json", cwd=project.root)
    assert as_json.returncode == 0, as_json.stderr
    (line,) = as_json.stdout.splitlines()
    assert json.loads(line)["workload"] == "hello"
    table = duroxide("bench", "--workload", "chain,hello", "-n", "2", cwd=project.root)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "store: sqlite (synchronous=full)"
    assert [line.split()[0] for line in lines[3:5]] == ["hello", "chain"]  # the standard order


def test_a_named_store_is_left_untouched_and_its_scratch_file_removed(project: Project):
    duroxide("start", "Doubler", "--input", "4", "--id", "kept", cwd=project.root, timeout=30)
    before = _listing(project.root)
    assert "state.db" in before
    result = duroxide("bench", "-w", "hello", "-n", "2", "-o", "json", "--store", "sqlite:///state.db?synchronous=normal", cwd=project.root)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["store"] == "sqlite (synchronous=normal)"
    assert _listing(project.root) == before
    status = duroxide("status", "kept", "--json", cwd=project.root)
    assert json.loads(status.stdout)["status"] == "Pending"


def test_a_store_in_a_missing_directory_leaves_no_directory_behind(project: Project):
    result = duroxide("bench", "-w", "chain", "-n", "2", "-o", "jsonl", "--store", "sqlite:///new/dir/b.db", cwd=project.root)
    assert result.returncode == 0, result.stderr
    assert not (project.root / "new").exists()


def test_an_in_memory_store_is_named_as_such(project: Project):
    result = duroxide("bench", "-w", "chain", "-n", "2", "-o", "jsonl", "--store", "sqlite://:memory:", cwd=project.root)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["store"] == "sqlite (:memory:)"


def test_without_store_the_configured_store_is_not_created(project: Project):
    result = duroxide("bench", "-w", "events", "-n", "2", "-o", "jsonl", cwd=project.root)
    assert result.returncode == 0, result.stderr
    assert not (project.root / "state.db").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-w", "nope"], "unknown workload 'nope'; known: hello, fanout, chain, timers, events, backlog"),
        (["-n", "0"], "-n must be a whole number from 1 to 100,000"),
        (["-n", "100001"], "-n must be a whole number from 1 to 100,000"),
        (["-n", "99999999999999999999"], "-n must be a whole number from 1 to 100,000"),
        (["-o", "xml"], "--output must be table, json or jsonl"),
        (["--rate", "0"], "--rate must be a number of instances per second of at least 1"),
        (["--rate", "fast"], "--rate must be a number of instances per second of at least 1"),
        (["--store", "sqlite:///x.db?synchronous=off"], "synchronous must be full or normal"),
    ],
)
def test_bad_flags_exit_2_with_one_line(project: Project, args: list[str], message: str):
    result = duroxide("bench", *args, cwd=project.root)
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert message in line
