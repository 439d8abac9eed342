"""Plain `duroxide run` replays the running instances against its code at start and holds back
the ones it would diverge on; the others run."""

from __future__ import annotations

import json

from .conftest import Project, duroxide, wait_until

HEADER = "duroxide run  app.py"


def status(project: Project, instance_id: str) -> dict:
    return json.loads(duroxide("status", instance_id, "--output", "json", cwd=project.root).stdout)


def history_kinds(project: Project, instance_id: str) -> list[str]:
    result = duroxide("history", "export", instance_id, cwd=project.root)
    return [e["kind"] for e in json.loads(result.stdout)["events"]] if result.returncode == 0 else []


def test_run_holds_back_an_instance_its_code_diverges_on_and_runs_the_others(project: Project, background):
    first = background("run")
    first.wait_for_stderr(HEADER)
    parked = duroxide("start", "WaitForGo", "--input", "1", "--id", "parked", cwd=project.root).stdout.strip()
    wait_until(lambda: "EventSubscribed" in history_kinds(project, parked))
    assert first.stop() == 0

    project.edit_app('data = yield ctx.wait_for_event("Go")', 'data = yield ctx.wait_for_event("Start")')
    line = project.line_of('wait_for_event("Start")')
    second = background("run")
    report = second.wait_for_stderr(HEADER)
    diverging = report[report.index("would diverge") : report.index(HEADER)]
    assert "parked" in diverging and f"app.py:{line}" in diverging and "EventSubscribed 'Go'" in diverging

    held = status(project, parked)
    assert held["status"] == "Running" and held["error"] is None
    assert "EventSubscribed 'Go'" in held["held"] and f"app.py:{line}" in held["held"]
    assert "`duroxide run`" in held["held"]

    other = duroxide("start", "Doubler", "--input", "4", "--wait", "--timeout", "30000", cwd=project.root)
    assert other.returncode == 0, other.stderr
    assert duroxide("raise", parked, "Go", "--data", "1", cwd=project.root).returncode == 0
    assert duroxide("start", "Doubler", "--input", "5", "--wait", cwd=project.root).returncode == 0
    assert "EventRaised" not in history_kinds(project, parked), "a held instance is not dispatched"
    assert status(project, parked)["status"] == "Running"
    assert second.stop() == 0

    # with the code fixed, the next run releases it and it finishes
    project.edit_app('data = yield ctx.wait_for_event("Start")', 'data = yield ctx.wait_for_event("Go")')
    third = background("run")
    third.wait_for_stderr("all consistent")
    waited = duroxide("wait", parked, "--json", "--timeout", "30000", cwd=project.root)
    assert waited.returncode == 0, waited.stdout + waited.stderr
    state = json.loads(waited.stdout)
    assert (state["output"], state["held"]) == ({"first": 2, "data": 1}, None)
    assert third.stop() == 0
    assert "Traceback" not in first.stderr + second.stderr + third.stderr
