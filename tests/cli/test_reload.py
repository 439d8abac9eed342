"""`duroxide run --reload`: restart on change, after replaying running instances against the new code."""

from __future__ import annotations

import json

from .conftest import Project, duroxide, wait_until

HEADER = "duroxide run  app.py"


def status(project: Project, instance_id: str) -> dict:
    return json.loads(duroxide("status", instance_id, "--json", cwd=project.root).stdout)


def history_kinds(project: Project, instance_id: str) -> list[str]:
    result = duroxide("history", "export", instance_id, cwd=project.root)
    return [e["kind"] for e in json.loads(result.stdout)["events"]] if result.returncode == 0 else []


def test_reload_names_diverging_instances_and_holds_them_until_the_code_is_consistent(project: Project, background):
    supervisor = background("run", "--reload")
    supervisor.wait_for_stderr(HEADER)
    parked = duroxide("start", "WaitForGo", "--input", "1", "--id", "parked", cwd=project.root).stdout.strip()
    wait_until(lambda: "EventSubscribed" in history_kinds(project, parked))

    project.edit_app('data = yield ctx.wait_for_event("Go")', 'data = yield ctx.wait_for_event("Start")')
    line = project.line_of('wait_for_event("Start")')
    report = supervisor.wait_for_stderr("would diverge")
    diverging = report[report.index("would diverge") :]
    assert "parked" in diverging and f"app.py:{line}" in diverging
    assert "EventSubscribed 'Go'" in diverging
    wait_until(lambda: supervisor.stderr.count(HEADER) == 2)

    # the reason shows in status at once, naming the line; the new runtime does not dispatch it
    held = wait_until(lambda: (s := status(project, parked))["held"] and s)
    assert held["status"] == "Running" and "run --reload" in held["held"] and f"app.py:{line}" in held["held"]
    assert held["error"] is None, "a hold is not a failure"
    assert duroxide("raise", parked, "Go", "--data", "1", cwd=project.root).returncode == 0
    assert "EventRaised" not in history_kinds(project, parked)

    # a fix makes it consistent again: the next runtime picks it up
    project.edit_app('data = yield ctx.wait_for_event("Start")', 'data = yield ctx.wait_for_event("Go")')
    supervisor.wait_for_stderr("all consistent")
    waited = duroxide("wait", parked, "--json", "--timeout", "30000", cwd=project.root)
    assert waited.returncode == 0, waited.stdout + waited.stderr
    assert json.loads(waited.stdout)["output"] == {"first": 2, "data": 1}
    assert json.loads(waited.stdout)["held"] is None

    assert supervisor.stop() == 0
    assert "Traceback" not in supervisor.stderr


def test_reload_waits_for_code_that_imports(project: Project, background):
    supervisor = background("run", "--reload")
    supervisor.wait_for_stderr(HEADER)
    project.edit_app("app = Registry()", "app = Registry()\nraise RuntimeError('half-written')")
    stderr = supervisor.wait_for_stderr("waiting for a change")
    assert "RuntimeError: half-written" in stderr
    project.edit_app("\nraise RuntimeError('half-written')", "")
    wait_until(lambda: supervisor.stderr.count(HEADER) == 2)
    assert duroxide("start", "Doubler", "--input", "2", "--wait", cwd=project.root).returncode == 0
    assert supervisor.stop() == 0
