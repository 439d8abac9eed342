"""``sys.exit()`` in an activity fails that activity; ``duroxide run`` keeps serving the store."""

from __future__ import annotations

import json

from .conftest import Project, duroxide

EXITING = '''

@app.activity("Exits")
def exits(ctx, x):
    import sys

    sys.exit(x)


@app.orchestration("CallsExit")
def calls_exit(ctx, x):
    yield ctx.schedule_activity("Exits", x)
'''


def test_sys_exit_in_an_activity_fails_it_and_duroxide_run_serves_other_instances(project: Project, background):
    project.app_file.write_text(project.app_file.read_text() + EXITING)
    runtime = background("run")
    runtime.wait_for_stderr("duroxide run")

    exited = duroxide("start", "CallsExit", "--input", "4", "--id", "exits", "--wait", cwd=project.root)
    assert exited.returncode == 1, exited.stderr
    failure = json.loads(duroxide("status", "exits", "--json", cwd=project.root).stdout)["failure"]
    assert failure["error_type"] == "ActivityError" and "SystemExit" in failure["message"]
    assert "sys.exit(4)" in failure["message"]

    served = duroxide("start", "Doubler", "--input", "21", "--id", "after", "--wait", cwd=project.root)
    assert served.returncode == 0, served.stderr + runtime.stderr
    assert json.loads(duroxide("status", "after", "--json", cwd=project.root).stdout)["output"] == 42
    assert runtime.process.poll() is None, "the runtime process is still running"
    assert runtime.stop() == 0
