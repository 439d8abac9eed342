"""``duroxide init``'s example project runs as written."""

from __future__ import annotations

import json

import pytest

from .conftest import Project


def test_the_init_example_runs_without_input_too(cli, project: Project, monkeypatch: pytest.MonkeyPatch):
    assert cli("init", "fresh").exit_code == 0
    monkeypatch.chdir(project.root / "fresh")
    result = cli("execute", "Greeting")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"greetings": ["Hello, world!"], "reply": None}
