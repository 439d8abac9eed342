"""Shell completion of commands and sub-commands."""

from __future__ import annotations

from .conftest import Project, duroxide


def test_shell_completion_completes_commands_and_subcommands(project: Project):
    import os

    env = {**os.environ, "_DUROXIDE_COMPLETE": "complete_bash", "COMP_WORDS": "duroxide hist", "COMP_CWORD": "1"}
    assert duroxide(cwd=project.root, env=env).stdout.split() == ["history"]
    env.update(COMP_WORDS="duroxide history ", COMP_CWORD="2")
    assert set(duroxide(cwd=project.root, env=env).stdout.split()) == {"show", "tail", "inspect", "export"}
    assert "--install-completion" in duroxide("--help", cwd=project.root).stdout
