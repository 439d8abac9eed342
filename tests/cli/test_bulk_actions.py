"""Acting on many instances at once (``cancel``/``terminate``/``delete``/``replay`` with the
``list`` filters, ``prune``), through real ``duroxide`` processes on a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import subprocess
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

from duroxide_cli import Client, Runtime, RuntimeOptions
from duroxide_cli.cli.app_loader import load_app
from duroxide_cli.cli.bulk import matching_ids
from duroxide_cli.providers.base import InstanceFilter
from duroxide_cli.providers.url import open_provider

from .conftest import CLI, Project, _env, duroxide, wait_until


def run(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    return duroxide(*args, cwd=project.root)


def start_many(project: Project, name: str, ids: list[str], input: object = 1) -> None:
    """Create the instances directly in the store (quicker than a process per instance)."""

    async def main() -> None:
        provider = await open_provider(project.store_url)
        try:
            for instance_id in ids:
                await Client(provider).start_orchestration(instance_id, name, input)
        finally:
            await provider.close()

    asyncio.run(main())


def drive(project: Project, until: Callable[[Client], Awaitable[bool]], timeout_s: float = 30) -> None:
    """Run a runtime on the project's store in this process until ``until`` holds."""

    async def main() -> None:
        provider = await open_provider(project.store_url)
        runtime = Runtime(provider, registry=load_app("app.py", project.root).registry, options=RuntimeOptions(poll_interval_ms=20))
        await runtime.start()
        try:
            deadline = time.monotonic() + timeout_s
            while not await until(Client(provider)):
                assert time.monotonic() < deadline, "the instances did not get there in time"
                await asyncio.sleep(0.05)
        finally:
            await runtime.shutdown(timeout_ms=1000)
            await provider.close()

    asyncio.run(main())


def all_in(ids: list[str], *statuses: str) -> Callable[[Client], Awaitable[bool]]:
    async def check(client: Client) -> bool:
        states = [await client.get_status(i) for i in ids]
        return all(s is not None and s.status in statuses for s in states)

    return check


def count(project: Project, *filters: str) -> int:
    result = run(project, "list", "--count", *filters)
    assert result.returncode == 0, result.stderr
    return int(result.stdout)


def listed(project: Project, *filters: str) -> set[str]:
    result = run(project, "list", "-o", "jsonl", "--limit", "1000", *filters)
    return {json.loads(line)["instance_id"] for line in result.stdout.splitlines()}


def test_bulk_cancel_of_50_instances_lists_them_on_dry_run_then_cancels_them_all(project: Project, background):
    ids = [f"bulk-{n:02}" for n in range(50)]
    start_many(project, "WaitForGo", ids)
    start_many(project, "WaitForGo", ["other-1"])
    runtime = background("run")
    wait_until(lambda: count(project, "--status", "Running") == 51, timeout=60)

    dry = run(project, "cancel", "--id-prefix", "bulk-", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert sorted(dry.stdout.splitlines()) == ids
    assert "50 instances match" in dry.stderr
    time.sleep(0.5)
    assert count(project, "--status", "Running") == 51

    cancelled = run(project, "cancel", "--id-prefix", "bulk-", "--reason", "cleanup", "--yes", "--output", "json")
    assert cancelled.returncode == 0, cancelled.stderr
    assert json.loads(cancelled.stdout) == {"matched": 50, "succeeded": 50, "failed": []}
    assert "50 instances match" in cancelled.stderr
    wait_until(lambda: count(project, "--status", "Cancelled") == 50, timeout=60)
    assert listed(project, "--status", "Cancelled") == set(ids)
    assert listed(project, "--status", "Running") == {"other-1"}
    runtime.stop()


def test_without_a_terminal_a_bulk_action_needs_yes(project: Project):
    start_many(project, "Doubler", ["a-1", "a-2"])
    refused = run(project, "delete", "--id-prefix", "a-", "--force")
    assert refused.returncode == 2
    assert "--yes" in refused.stderr and "2 instances match" in refused.stderr
    assert refused.stdout == ""
    assert listed(project) == {"a-1", "a-2"}


def test_on_a_terminal_a_bulk_action_asks_first(project: Project):
    start_many(project, "Doubler", ["t-1", "t-2"])

    def on_terminal(answer: str) -> subprocess.CompletedProcess[str]:
        primary, secondary = pty.openpty()
        try:
            os.write(primary, answer.encode())
            args = [*CLI, "delete", "--all", "--force"]
            return subprocess.run(args, cwd=project.root, stdin=secondary, capture_output=True, text=True, timeout=60, env=_env())
        finally:
            os.close(primary)
            os.close(secondary)

    declined = on_terminal("n\n")
    assert declined.returncode == 1 and "delete 2 instances? [y/N]" in declined.stderr
    assert listed(project) == {"t-1", "t-2"}
    accepted = on_terminal("y\n")
    assert accepted.returncode == 0, accepted.stderr
    assert listed(project) == set()


def test_an_action_with_neither_id_nor_filter_needs_all(project: Project):
    start_many(project, "Doubler", ["x-1", "y-1"])
    bare = run(project, "delete", "--yes")
    assert bare.returncode == 2 and "--all" in bare.stderr
    both = run(project, "cancel", "x-1", "--status", "Pending")
    assert both.returncode == 2 and "not both" in both.stderr
    assert run(project, "terminate", "--all", "--status", "Pending", "--yes").returncode == 2
    assert run(project, "cancel", "x-1", "--dry-run").returncode == 2

    dry = run(project, "delete", "--all", "--dry-run")
    assert dry.returncode == 0 and set(dry.stdout.splitlines()) == {"x-1", "y-1"}
    everything = run(project, "delete", "--all", "--force", "--yes", "-o", "json")
    assert json.loads(everything.stdout) == {"matched": 2, "succeeded": 2, "failed": []}
    assert listed(project) == set()


def test_failures_are_listed_in_the_summary_and_exit_1(project: Project):
    start_many(project, "Doubler", ["f-1", "f-2"])
    drive(project, all_in(["f-1", "f-2"], "Completed"))
    start_many(project, "Doubler", ["f-3"])  # no runtime: it stays Pending, still running

    failed = run(project, "delete", "--id-prefix", "f-", "--yes", "--output", "json")
    assert failed.returncode == 1, failed.stderr
    summary = json.loads(failed.stdout)
    assert summary["matched"] == 3 and summary["succeeded"] == 2
    assert [f["instance_id"] for f in summary["failed"]] == ["f-3"]
    assert "still running" in summary["failed"][0]["error"] and "--force" in summary["failed"][0]["error"]
    assert listed(project) == {"f-3"}

    table = run(project, "delete", "--id-prefix", "f-", "--yes")
    assert table.returncode == 1
    lines = table.stdout.splitlines()
    assert lines[:3] == ["matched    1", "succeeded  0", "failed     1"]
    assert any(line.startswith("f-3") and "still running" in line for line in lines)

    forced = run(project, "delete", "--id-prefix", "f-", "--force", "--yes", "-o", "jsonl")
    assert forced.returncode == 0 and forced.stdout == '{"matched":1,"succeeded":1,"failed":[]}\n'


def test_cancel_and_terminate_of_finished_instances_count_as_succeeded(project: Project):
    start_many(project, "Doubler", ["done-1", "done-2"])
    drive(project, all_in(["done-1", "done-2"], "Completed"))
    for command in ("cancel", "terminate"):
        result = run(project, command, "--status", "Completed", "--yes", "-o", "json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {"matched": 2, "succeeded": 2, "failed": []}
    assert count(project, "--status", "Completed") == 2
    none = run(project, "cancel", "--status", "Failed", "-o", "json")  # nothing to ask about
    assert none.returncode == 0 and json.loads(none.stdout) == {"matched": 0, "succeeded": 0, "failed": []}


def test_prune_deletes_old_finished_instances_and_keeps_running_and_newer_ones(project: Project):
    start_many(project, "Doubler", ["old-done"])
    start_many(project, "Failing", ["old-failed"], input=3)
    start_many(project, "WaitForGo", ["old-running"])
    drive(project, all_in(["old-done", "old-failed", "old-running"], "Completed", "Failed", "Running"))
    time.sleep(0.05)
    cutoff = datetime.now(timezone.utc).isoformat()
    time.sleep(0.05)
    start_many(project, "Doubler", ["new-done"])
    drive(project, all_in(["new-done"], "Completed"))

    dry = run(project, "prune", "--before", cutoff, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert sorted(dry.stdout.splitlines()) == ["old-done", "old-failed"]
    assert "2 instances match" in dry.stderr
    assert run(project, "prune", "--before", cutoff).returncode == 2  # no terminal, no --yes

    only_failed = run(project, "prune", "--before", cutoff, "--status", "Failed", "--yes", "-o", "json")
    assert json.loads(only_failed.stdout) == {"matched": 1, "succeeded": 1, "failed": []}
    pruned = run(project, "prune", "--before", cutoff, "--yes")
    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout.splitlines()[:2] == ["matched    1", "succeeded  1"]
    assert listed(project) == {"old-running", "new-done"}

    assert run(project, "prune", "--before", "7d", "--yes", "--json").stdout.count('"matched": 0') == 1
    assert run(project, "prune", "--before", "1s", "--status", "Running").returncode == 2
    bad_time = run(project, "prune", "--before", "yesterday")
    assert bad_time.returncode == 2
    assert "--before 'yesterday'" in bad_time.stderr  # the option the user gave


def test_prune_never_creates_a_store(project: Project):
    result = run(project, "prune", "--before", "1d", "--yes")
    assert result.returncode == 3
    assert "no store at" in result.stderr and not (project.root / "state.db").exists()


def test_replay_with_filters_replays_each_match_and_exits_1_when_any_diverges(project: Project):
    start_many(project, "Doubler", ["r-1", "r-2"])
    start_many(project, "WaitForGo", ["w-1"])
    drive(project, all_in(["r-1", "r-2", "w-1"], "Completed", "Running"))

    consistent = run(project, "replay", "--name", "Doubler", "--yes")
    assert consistent.returncode == 0, consistent.stderr
    assert {line.split()[0] for line in consistent.stdout.splitlines()[2:] if line.strip()} == {"r-1", "r-2"}
    dry = run(project, "replay", "--all", "--dry-run")
    assert dry.returncode == 0 and set(dry.stdout.splitlines()) == {"r-1", "r-2", "w-1"}
    assert run(project, "replay", "--name", "Doubler").returncode == 2  # no terminal, no --yes

    project.edit_app('y = yield ctx.schedule_activity("Double", x)', 'y = yield ctx.schedule_activity("Double", x + 1)')
    diverged = run(project, "replay", "--all", "--yes", "-o", "json")
    assert diverged.returncode == 1, diverged.stderr
    report = json.loads(diverged.stdout)
    assert report["consistent"] is False and report["not_checked"] == []
    by_id = {r["instance_id"]: r for r in report["instances"]}
    assert set(by_id) == {"r-1", "r-2", "w-1"}
    assert not by_id["r-1"]["consistent"] and not by_id["r-2"]["consistent"] and by_id["w-1"]["consistent"]
    table = run(project, "replay", "--id-prefix", "r-", "--yes")
    assert table.returncode == 1
    assert sum("DIVERGES" in line for line in table.stdout.splitlines()) == 2
    assert run(project, "replay", "--name", "Doubler", "--file", "x.json").returncode == 2


def test_matching_ids_pages_through_every_match_once(project: Project):
    ids = [f"p-{n:02}" for n in range(23)]
    start_many(project, "Doubler", ids)

    async def collect() -> list[str]:
        provider = await open_provider(project.store_url)
        try:
            return await matching_ids(Client(provider), InstanceFilter(id_prefix="p-"), page_size=4)
        finally:
            await provider.close()

    assert asyncio.run(collect()) == list(reversed(ids))
