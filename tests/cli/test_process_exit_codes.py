"""Exit codes that only real processes show: Ctrl-C stops ``run`` cleanly, a cancel from
another shell ends ``execute`` with 5."""

from __future__ import annotations

import signal

from .conftest import Project, duroxide


def test_run_exits_0_after_ctrl_c(project: Project, background):
    runtime = background("run")
    runtime.wait_for_stderr("duroxide run")
    runtime.process.send_signal(signal.SIGINT)
    assert runtime.process.wait(timeout=30) == 0
    assert "stopped" in runtime.stderr and "Traceback" not in runtime.stderr


def test_execute_exits_5_when_its_instance_is_cancelled_from_another_shell(project: Project, background):
    execute = background("execute", "WaitForGo", "--input", "1", "--id", "to-cancel")
    execute.wait_for_stderr("EventSubscribed")
    assert duroxide("cancel", "to-cancel", "--reason", "no longer needed", cwd=project.root).returncode == 0
    assert execute.process.wait(timeout=30) == 5
    assert execute.stdout == "" and "Cancelled  to-cancel" in execute.stderr
