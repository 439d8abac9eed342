"""Recovering from the shell: reset an instance after fixing the code that broke it; fork one."""

from __future__ import annotations

import json

from .conftest import duroxide, wait_until


def _state(project, instance_id: str) -> dict:
    return json.loads(duroxide("status", instance_id, "-o", "json", cwd=project.root).stdout)


def test_reset_after_a_fix_reruns_the_failed_turn_with_the_new_code(project, background):
    project.edit_app("    return y\n", '    return y["total"]  # bug: y is a number\n')
    runtime = background("run")
    assert duroxide("start", "Doubler", "--input", "21", "--id", "d-1", cwd=project.root).returncode == 0
    assert duroxide("wait", "d-1", cwd=project.root).returncode == 1
    runtime.stop()

    project.edit_app('    return y["total"]  # bug: y is a number\n', "    return y\n")
    reset = duroxide("reset", "d-1", "--reason", "fixed", cwd=project.root)
    assert reset.returncode == 0, reset.stderr
    assert reset.stdout == "2\n"
    background("run")
    assert duroxide("wait", "d-1", cwd=project.root).returncode == 0
    state = _state(project, "d-1")
    assert state["output"] == 42 and state["execution_id"] == 2
    old = json.loads(duroxide("history", "show", "d-1", "--execution", "1", "-o", "json", cwd=project.root).stdout)
    assert old["events"][-1]["kind"] == "OrchestrationFailed"


def test_reset_without_an_event_goes_back_to_before_the_divergence(project, background):
    runtime = background("run")
    duroxide("start", "WaitForGo", "--input", "2", "--id", "w-1", cwd=project.root)
    wait_until(lambda: _state(project, "w-1").get("status") == "Running" and "EventSubscribed" in duroxide(
        "history", "export", "w-1", cwd=project.root).stdout)
    runtime.stop()
    project.edit_app(
        '    first = yield ctx.schedule_activity("Double", x)\n    data = yield ctx.wait_for_event("Go")\n',
        '    first = yield ctx.schedule_activity("Double", x)\n    extra = yield ctx.schedule_activity("Double", 50)\n'
        '    data = yield ctx.wait_for_event("Go")\n    data = [data, extra]\n',
    )
    background("run")  # holds w-1 back: the new code diverges from its history
    wait_until(lambda: _state(project, "w-1")["held"])
    duroxide("raise", "w-1", "Go", "--data", '"go"', cwd=project.root)

    reset = duroxide("reset", "w-1", cwd=project.root)
    assert reset.returncode == 0, reset.stderr
    assert "from event 3" in reset.stderr
    assert duroxide("wait", "w-1", cwd=project.root).returncode == 0
    assert _state(project, "w-1")["output"] == {"first": 4, "data": ["go", 100]}, "the Go event was delivered again"


def test_fork_runs_a_copy_and_leaves_the_original(project, background):
    background("run")
    duroxide("start", "Doubler", "--input", "5", "--id", "orig", cwd=project.root)
    assert duroxide("wait", "orig", cwd=project.root).returncode == 0
    forked = duroxide("fork", "orig", "--event", "2", cwd=project.root)
    assert forked.returncode == 0, forked.stderr
    assert forked.stdout == "orig-fork-1\n"
    named = duroxide("fork", "orig", "--event", "2", "--id", "copy", cwd=project.root)
    assert named.stdout == "copy\n"
    assert duroxide("wait", "orig-fork-1", cwd=project.root).returncode == 0
    assert _state(project, "orig-fork-1")["output"] == 10
    assert _state(project, "orig")["execution_id"] == 1


def test_reset_refusals_are_usage_errors(project, background):
    duroxide("start", "WaitForGo", "--input", "1", "--id", "r-1", cwd=project.root)
    running = duroxide("reset", "r-1", "--event", "1", cwd=project.root)
    assert running.returncode == 2 and "--force" in running.stderr
    background("run")
    wait_until(lambda: _state(project, "r-1")["status"] == "Running")
    bad = duroxide("reset", "r-1", "--event", "99", "--force", cwd=project.root)
    assert bad.returncode == 2 and "event 99 is not in the history" in bad.stderr
    assert duroxide("reset", "nope", cwd=project.root).returncode == 3
    missing = duroxide("fork", "r-1", cwd=project.root)
    assert missing.returncode == 2


def test_reset_with_filters_resets_every_failed_instance_after_a_fix(project, background):
    project.edit_app("    return y\n", '    return y["total"]  # bug: y is a number\n')
    runtime = background("run")
    for i in range(3):
        duroxide("start", "Doubler", "--input", str(i), "--id", f"b-{i}", cwd=project.root)
    for i in range(3):
        assert duroxide("wait", f"b-{i}", cwd=project.root).returncode == 1
    runtime.stop()
    project.edit_app('    return y["total"]  # bug: y is a number\n', "    return y\n")

    dry = duroxide("reset", "--status", "Failed", "--dry-run", cwd=project.root)
    assert sorted(dry.stdout.split()) == ["b-0", "b-1", "b-2"]
    with_event = duroxide("reset", "--status", "Failed", "--event", "2", "--yes", cwd=project.root)
    assert with_event.returncode == 2 and "--event" in with_event.stderr
    done = duroxide("reset", "--status", "Failed", "--yes", "-o", "json", cwd=project.root)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"matched": 3, "succeeded": 3, "failed": []}
    background("run")
    for i in range(3):
        assert duroxide("wait", f"b-{i}", cwd=project.root).returncode == 0
        assert _state(project, f"b-{i}")["output"] == 2 * i
