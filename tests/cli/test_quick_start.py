"""The README's quick start command runs in a fresh copy of the repository."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from .conftest import CLI, _env

REPO = Path(__file__).resolve().parents[2]


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
