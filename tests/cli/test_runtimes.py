"""Runtimes register in the store: `duroxide workers` lists the live ones, and a Pending
instance (and `wait`/`start --wait`) says when no runtime is serving the store."""

from __future__ import annotations

import json

from .conftest import Project, duroxide, wait_until

HEADER_RUN = "duroxide run  app.py"
NO_RUNTIME = "no runtime is serving this store"


def workers(project: Project) -> list[dict]:
    result = duroxide("workers", "--output", "json", cwd=project.root)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_workers_lists_a_running_runtime_until_it_stops(project: Project, background):
    runtime = background("run", "--worker-id", "worker-a")
    runtime.wait_for_stderr(HEADER_RUN)
    (row,) = wait_until(lambda: workers(project))
    assert set(row) == {"worker_id", "host", "pid", "app", "started_at_ms", "last_seen_at_ms"}
    assert (row["worker_id"], row["pid"], row["app"]) == ("worker-a", runtime.process.pid, "app.py")
    assert row["last_seen_at_ms"] >= row["started_at_ms"] > 0

    table = duroxide("workers", cwd=project.root)
    assert table.returncode == 0 and "worker-a" in table.stdout and "app.py" in table.stdout
    lines = duroxide("workers", "-o", "jsonl", cwd=project.root).stdout.splitlines()
    assert [json.loads(line)["worker_id"] for line in lines] == ["worker-a"]

    assert runtime.stop() == 0
    assert workers(project) == []
    empty = duroxide("workers", cwd=project.root)
    assert empty.returncode == 0 and empty.stdout == "" and NO_RUNTIME in empty.stderr


def test_a_pending_instance_says_no_runtime_is_serving_the_store(project: Project):
    assert duroxide("start", "Doubler", "--input", "2", "--id", "p-1", cwd=project.root).returncode == 0
    state = json.loads(duroxide("status", "p-1", "--output", "json", cwd=project.root).stdout)
    assert state["status"] == "Pending" and state["error"].startswith(NO_RUNTIME)
    assert NO_RUNTIME in duroxide("status", "p-1", cwd=project.root).stdout


def test_wait_says_once_that_no_runtime_is_serving_the_store(project: Project):
    assert duroxide("start", "Doubler", "--input", "2", "--id", "w-1", cwd=project.root).returncode == 0
    waited = duroxide("wait", "w-1", "--timeout", "4500", cwd=project.root)
    assert waited.returncode == 4
    assert waited.stderr.count(NO_RUNTIME) == 1, waited.stderr


def test_start_wait_hints_at_the_missing_runtime_then_finishes_when_one_starts(project: Project, background):
    waiting = background("start", "Doubler", "--input", "21", "--id", "s-1", "--wait", "--timeout", "60000")
    waiting.wait_for_stderr(NO_RUNTIME)
    assert waiting.process.poll() is None, "it keeps waiting after the hint"
    runtime = background("run")
    assert waiting.process.wait(timeout=60) == 0, waiting.stderr
    assert waiting.stdout.splitlines()[0] == "s-1"
    assert waiting.stderr.count(NO_RUNTIME) == 1
    assert json.loads(duroxide("status", "s-1", "--json", cwd=project.root).stdout)["output"] == 42
    assert runtime.stop() == 0
