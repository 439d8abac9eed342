"""Every command's ``--help`` reads plainly; shell completion offers ids and orchestration names."""

from __future__ import annotations

import os
import re
import subprocess

import typer

from duroxide_cli.cli.app import app

from .conftest import CLI, Project, duroxide

LEFTOVERS = re.compile(r"\{[A-Za-z_]+\}|\[\[|\]\]|<(?:str|int|float|path|bool|text)\b[^>]*>|\brange>|\[x[<>]=|INTEGER|TEXT\b")
"""typer's placeholders: ``{ID}``, ``[[DIR]]``, ``<str>``, ``<int range>``, ``[x>=1]``, bare type names."""


def command_paths() -> list[list[str]]:
    """Every command and group, as the words that name it."""
    paths: list[list[str]] = [[]]

    def walk(command, prefix: list[str]) -> None:
        if not hasattr(command, "list_commands"):
            return
        context = typer.Context(command)
        for name in command.list_commands(context):
            paths.append([*prefix, name])
            walk(command.get_command(context, name), [*prefix, name])

    walk(typer.main.get_command(app), [])
    return paths


def test_every_help_is_free_of_placeholders(project: Project):
    paths = command_paths()
    assert ["list"] in paths and ["tree"] in paths and ["history", "export"] in paths
    for path in paths:
        result = duroxide(*path, "--help", cwd=project.root)
        assert result.returncode == 0, (path, result.stderr)
        assert result.stdout.startswith(f"Usage: duroxide {' '.join(path)}".rstrip()), path
        found = LEFTOVERS.findall(result.stdout)
        assert not found, f"duroxide {' '.join(path)} --help has {found}:\n{result.stdout}"


def test_help_names_arguments_and_option_values(project: Project):
    status = duroxide("status", "--help", cwd=project.root).stdout
    assert "Usage: duroxide status [OPTIONS] ID\n" in status
    assert "-o, --output table|json|jsonl" in status and "-v, --verbose" in status
    assert "Usage: duroxide init [OPTIONS] [DIR]\n" in duroxide("init", "--help", cwd=project.root).stdout
    listing = " ".join(duroxide("list", "--help", cwd=project.root).stdout.split())
    assert "--limit N" in listing and "[default: 50]" in listing and "--since AGE|TIME" in listing


def complete(project: Project, words: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUROXIDE_")}
    env.update(_DUROXIDE_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD=str(len(words.split(" ")) - 1))
    result = subprocess.run(CLI, cwd=project.root, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return result.stdout.split()


def test_completion_offers_instance_ids_from_the_store(project: Project):
    for instance_id in ("order-1", "order-2", "refund-1"):
        assert duroxide("start", "Doubler", "--id", instance_id, cwd=project.root).returncode == 0
    assert complete(project, "duroxide status ord") == ["order-2", "order-1"]
    assert complete(project, "duroxide history show re") == ["refund-1"]
    assert complete(project, "duroxide tree ") == ["refund-1", "order-2", "order-1"]
    assert complete(project, "duroxide replay ord") == ["order-2", "order-1"]


def test_completion_offers_orchestration_names_from_the_app(project: Project):
    assert complete(project, "duroxide start Do") == ["Doubler"]
    assert complete(project, "duroxide execute W") == ["WaitForGo"]
    assert complete(project, "duroxide list --name C") == ["Countdown"]
    assert complete(project, "duroxide list --status Ru") == ["Running"]


def test_completion_fails_silently_and_creates_no_store(project: Project):
    assert complete(project, "duroxide status ord") == []
    assert not (project.root / "state.db").exists()
    project.app_file.write_text("raise RuntimeError('broken app')\n")
    assert complete(project, "duroxide start Do") == []
