"""Cancel runs the code's compensation; terminate stops an instance with none of its code running."""

from __future__ import annotations

import json
import textwrap

from .conftest import duroxide, wait_until

SAGA_APP = textwrap.dedent(
    '''
    from duroxide_cli import OrchestrationCancelled, Registry

    app = Registry()


    @app.activity("Reserve")
    async def reserve(ctx, item):
        return {"reserved": item}


    @app.activity("Release")
    async def release(ctx, why):
        return {"released": why}


    @app.orchestration("Saga")
    def saga(ctx, item):
        held = yield ctx.schedule_activity("Reserve", item)
        try:
            yield ctx.wait_for_event("Confirm")
        except OrchestrationCancelled as cancelled:
            yield ctx.schedule_activity("Release", cancelled.reason)
            if item == "stubborn":
                yield ctx.wait_for_event("Never")  # compensation that never ends
            raise
        return held
    '''
).lstrip()


def _status(project, instance_id: str) -> dict:
    result = duroxide("status", instance_id, "--output", "json", cwd=project.root)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _kinds_and_names(project, instance_id: str) -> list[tuple[str, str | None]]:
    exported = json.loads(duroxide("history", "export", instance_id, cwd=project.root).stdout)
    return [(e["kind"], e.get("name")) for e in exported["events"]]


def _waiting_for(project, instance_id: str, event: str) -> bool:
    return ("EventSubscribed", event) in _kinds_and_names(project, instance_id)


def test_cancel_lets_the_code_compensate_and_ends_it_cancelled(project, background):
    project.app_file.write_text(SAGA_APP)
    runtime = background("run")
    assert duroxide("start", "Saga", "--input", '"book"', "--id", "s-1", cwd=project.root).returncode == 0
    wait_until(lambda: _waiting_for(project, "s-1", "Confirm"))

    cancelled = duroxide("cancel", "s-1", "--reason", "customer left", cwd=project.root)
    assert cancelled.returncode == 0, cancelled.stderr
    assert duroxide("wait", "s-1", cwd=project.root).returncode == 5

    state = _status(project, "s-1")
    assert state["status"] == "Cancelled" and state["error"] == "customer left"
    assert state["failure"]["error_type"] == "OrchestrationCancelled"
    history = _kinds_and_names(project, "s-1")
    assert ("CancelRequested", None) in history and ("ActivityScheduled", "Release") in history
    assert history[-1] == ("OrchestrationCancelled", None)
    runtime.stop()


def test_terminate_ends_an_instance_that_is_still_compensating(project, background):
    project.app_file.write_text(SAGA_APP)
    background("run")
    duroxide("start", "Saga", "--input", '"stubborn"', "--id", "s-2", cwd=project.root)
    wait_until(lambda: _waiting_for(project, "s-2", "Confirm"))
    duroxide("cancel", "s-2", cwd=project.root)
    wait_until(lambda: _waiting_for(project, "s-2", "Never"))
    assert _status(project, "s-2")["status"] == "Running", "the code is compensating"

    terminated = duroxide("terminate", "s-2", "--reason", "enough", cwd=project.root)
    assert terminated.returncode == 0, terminated.stderr
    assert duroxide("wait", "s-2", cwd=project.root).returncode == 5
    state = _status(project, "s-2")
    assert state["status"] == "Cancelled" and state["failure"]["error_type"] == "Terminated"
    assert state["error"] == "enough"


def test_terminate_of_an_unknown_or_finished_instance(project, background):
    project.app_file.write_text(SAGA_APP)
    assert duroxide("start", "Saga", "--input", '"x"', "--id", "s-3", cwd=project.root).returncode == 0
    unknown = duroxide("terminate", "nope", cwd=project.root)
    assert unknown.returncode == 3 and "nope" in unknown.stderr
    duroxide("terminate", "s-3", cwd=project.root)
    background("run")
    assert duroxide("wait", "s-3", cwd=project.root).returncode == 5
    again = duroxide("terminate", "s-3", cwd=project.root)
    assert again.returncode == 0 and "already Cancelled" in again.stderr
