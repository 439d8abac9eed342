"""``duroxide execute`` runs its own instance and that instance's sub-orchestration tree, nothing else.

Real processes on a real store file: other instances were started while no runtime ran, and
must still be Pending with empty histories after ``execute`` of another name has finished.
"""

from __future__ import annotations

import json

from .conftest import Project, duroxide

TREE = '''

@app.orchestration("Parent")
def parent(ctx, x):
    yield ctx.start_orchestration("Doubler", "fire-and-forget", x)
    child = yield ctx.schedule_sub_orchestration("Child", x)
    return {"child": child}


@app.orchestration("Child")
def child(ctx, x):
    doubled = yield ctx.schedule_activity("Double", x)
    return (yield ctx.schedule_sub_orchestration_with_id("Doubler", "grandchild", doubled))
'''


def _state(project: Project, instance_id: str) -> dict:
    result = duroxide("status", instance_id, "--json", cwd=project.root)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _events(project: Project, instance_id: str) -> list[dict]:
    result = duroxide("history", "export", instance_id, cwd=project.root)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["events"]


def test_execute_runs_only_its_instance_and_its_sub_orchestrations(project: Project):
    project.app_file.write_text(project.app_file.read_text() + TREE)
    for name, instance_id in (("Doubler", "other-doubler"), ("Countdown", "other-countdown"), ("WaitForGo", "other-wait")):
        started = duroxide("start", name, "--input", "2", "--id", instance_id, cwd=project.root)
        assert started.returncode == 0, started.stderr

    executed = duroxide("execute", "Parent", "--input", "3", "--id", "parent", "--quiet", cwd=project.root)
    assert executed.returncode == 0, executed.stderr
    assert json.loads(executed.stdout) == {"child": 12}

    for instance_id in ("parent", "parent::1::3", "grandchild"):
        assert _state(project, instance_id)["status"] == "Completed", instance_id
    for instance_id in ("other-doubler", "other-countdown", "other-wait", "fire-and-forget"):
        state = _state(project, instance_id)
        assert (state["status"], state["execution_id"]) == ("Pending", 1), instance_id
        assert _events(project, instance_id) == [], instance_id
