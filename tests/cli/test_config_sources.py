"""Where configuration comes from: every runtime option has its variable, a flag beats the
variable which beats the toml, and a bad value names the source it came from."""

from __future__ import annotations

import dataclasses
import re
import signal
import subprocess

import pytest

from duroxide_cli.cli.config import load_settings
from duroxide_cli.model.options import RuntimeOptions

from .conftest import CLI, Project, _env


def only_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{text}"
    return lines[0]


_VALUES = {"worker_id": ("w-env", "w-env"), "cache_size": ("0", 0)}


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(RuntimeOptions)])
def test_every_runtime_option_has_its_duroxide_variable(project: Project, field: str):
    raw, expected = _VALUES.get(field, ("7", 7))
    options = load_settings(cwd=project.root, environ={f"DUROXIDE_{field.upper()}": raw}).runtime_options()
    assert getattr(options, field) == expected


def test_a_bad_log_level_in_the_toml_names_the_toml_not_the_variable(cli, project: Project):
    (project.root / "duroxide.toml").write_text('[app]\nmodule = "app.py"\n[log]\nlevel = "loud"\n')
    result = cli("list")
    assert result.exit_code == 2
    line = only_line(result.stderr)
    assert "[log] level" in line and "duroxide.toml" in line and "'loud'" in line
    assert "DUROXIDE_LOG" not in line


def test_a_bad_duroxide_log_variable_is_named(cli, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DUROXIDE_LOG", "loud")
    result = cli("list")
    assert result.exit_code == 2 and "DUROXIDE_LOG" in only_line(result.stderr)


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
