"""The developer's local loop with real processes: `duroxide run` in the background, every other
command in its own process against the same SQLite file."""

from __future__ import annotations

import json

from .conftest import Project, duroxide, wait_until


def kinds(project: Project, instance_id: str) -> list[str]:
    result = duroxide("history", "export", instance_id, cwd=project.root)
    return [e["kind"] for e in json.loads(result.stdout)["events"]] if result.returncode == 0 else []


def test_run_start_raise_cancel_status_tail_and_replay_across_processes(project: Project, background):
    runtime = background("run")
    runtime.wait_for_stderr("duroxide run")

    started = duroxide("start", "WaitForGo", "--input", "5", cwd=project.root)
    assert started.returncode == 0, started.stderr
    instance_id = started.stdout.strip()
    tail = background("history", "tail", instance_id, "--json")
    wait_until(lambda: "EventSubscribed" in kinds(project, instance_id))

    assert duroxide("raise", instance_id, "Go", "--data", '"now"', cwd=project.root).returncode == 0
    waited = duroxide("wait", instance_id, "--json", "--timeout", "30000", cwd=project.root)
    assert waited.returncode == 0, waited.stderr
    assert json.loads(waited.stdout)["output"] == {"first": 10, "data": "now"}

    assert tail.process.wait(timeout=30) == 0
    followed = [json.loads(line) for line in tail.stdout.splitlines()]
    assert [e["kind"] for e in followed] == kinds(project, instance_id)
    assert "EventRaised" in [e["kind"] for e in followed] and followed[-1]["kind"] == "OrchestrationCompleted"

    state = json.loads(duroxide("status", instance_id, "--json", cwd=project.root).stdout)
    assert state["status"] == "Completed" and state["output"]["data"] == "now"

    doomed = duroxide("start", "WaitForGo", "--id", "doomed", cwd=project.root).stdout.strip()
    wait_until(lambda: "EventSubscribed" in kinds(project, doomed))
    assert duroxide("cancel", doomed, "--reason", "not needed", cwd=project.root).returncode == 0
    cancelled = duroxide("wait", doomed, "--json", cwd=project.root)
    assert cancelled.returncode == 5
    assert json.loads(cancelled.stdout)["status"] == "Cancelled"

    assert duroxide("start", "Doubler", "--input", "4", "--wait", cwd=project.root).returncode == 0

    assert runtime.stop() == 0
    assert "stopped" in runtime.stderr and "Traceback" not in runtime.stderr


def test_replay_of_changed_and_unchanged_code_and_of_an_exported_file(project: Project, background):
    runtime = background("run")
    runtime.wait_for_stderr("duroxide run")
    parked = duroxide("start", "WaitForGo", "--input", "1", "--id", "parked", cwd=project.root).stdout.strip()
    wait_until(lambda: "EventSubscribed" in kinds(project, parked))
    assert runtime.stop() == 0

    unchanged = duroxide("replay", parked, cwd=project.root)
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    export = project.root / "parked.json"
    export.write_text(duroxide("history", "export", parked, cwd=project.root).stdout)
    assert duroxide("replay", "--file", str(export), cwd=project.root).returncode == 0

    project.edit_app('first = yield ctx.schedule_activity("Double", x)', 'first = yield ctx.schedule_activity("Triple", x)')
    line = project.line_of('"Triple"')
    changed = duroxide("replay", parked, cwd=project.root)
    assert changed.returncode == 1
    assert f"app.py:{line}" in changed.stdout
    assert "ActivityScheduled 'Double'" in changed.stdout and "scheduled activity 'Triple'" in changed.stdout
    from_file = duroxide("replay", "--file", str(export), "--json", cwd=project.root)
    assert from_file.returncode == 1
    assert json.loads(from_file.stdout)["divergence"]["location"] == f"app.py:{line}"


def test_an_id_deleted_and_started_again_from_another_shell_runs_the_new_instance(project: Project, background):
    runtime = background("run")
    runtime.wait_for_stderr("duroxide run")
    assert duroxide("start", "WaitForGo", "--input", "1", "--id", "again", cwd=project.root).returncode == 0
    wait_until(lambda: "EventSubscribed" in kinds(project, "again"))

    deleted = duroxide("delete", "again", "--force", cwd=project.root)
    assert deleted.returncode == 0, deleted.stderr
    assert duroxide("start", "WaitForGo", "--input", "5", "--id", "again", cwd=project.root).returncode == 0
    wait_until(lambda: "EventSubscribed" in kinds(project, "again"), timeout=15)
    assert duroxide("raise", "again", "Go", "--data", '"new"', cwd=project.root).returncode == 0
    waited = duroxide("wait", "again", "--json", "--timeout", "30000", cwd=project.root)
    assert waited.returncode == 0, waited.stdout + waited.stderr
    assert json.loads(waited.stdout)["output"] == {"first": 10, "data": "new"}
    assert kinds(project, "again")[0] == "OrchestrationStarted"

    assert runtime.stop() == 0
    assert "duplicate start" not in runtime.stderr and "Traceback" not in runtime.stderr
