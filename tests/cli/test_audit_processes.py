"""Exit codes and configuration precedence that only real processes show."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
from pathlib import Path

from .conftest import CLI, Project, _env, duroxide

REPO = Path(__file__).resolve().parents[2]


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


def test_a_run_flag_beats_the_variable_which_beats_the_toml(project: Project, background):
    toml = project.root / "duroxide.toml"
    toml.write_text(toml.read_text() + 'worker_id = "from-toml"\n')

    def worker(*args: str, env: dict[str, str] | None = None) -> str:
        process = subprocess.Popen([*CLI, "run", *args], cwd=project.root, stderr=subprocess.PIPE, text=True, env={**_env(), **(env or {})})
        assert process.stderr is not None
        header = process.stderr.readline()
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
        found = re.search(r"worker (\S+)", header)
        assert found, header
        return found.group(1)

    assert worker() == "from-toml"
    assert worker(env={"DUROXIDE_WORKER_ID": "from-env"}) == "from-env"
    assert worker("--worker-id", "from-flag", env={"DUROXIDE_WORKER_ID": "from-env"}) == "from-flag"


def test_the_readme_quick_start_command_runs_in_a_fresh_copy_of_the_repository(tmp_path: Path):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    command = re.search(r"```bash\n(.*?)\n```", readme, flags=re.S).group(1).split("&& ")[-1]
    assert command.startswith("duroxide execute ProcessOrder")
    shutil.copy(REPO / "duroxide.toml", tmp_path)
    shutil.copytree(REPO / "workflows_example", tmp_path / "workflows_example", ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run([*CLI, *command.split()[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=120, env=_env())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "completed"
    assert (tmp_path / ".duroxide" / "duroxide.db").exists()
