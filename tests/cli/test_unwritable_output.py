"""Output that cannot be written (a full disk, a closed standard output) ends a command with one
line on stderr and exit 1, never a traceback; a closed pipe (``| head -1``) still ends it quietly.

Real ``duroxide`` processes: the plain ``status`` and ``list`` (answered without typer, see
``cli/fast_reads.py``) and commands run by typer, buffered and unbuffered."""

from __future__ import annotations

import os
import subprocess

import pytest

from .conftest import CLI, Project, _env, duroxide

COMMANDS = [
    ["status", "i-1"],  # the fast path
    ["list"],  # the fast path
    ["status", "i-1", "-o", "json"],
    ["list", "-o", "json"],
    ["history", "show", "i-1"],
    ["metrics"],
]


def _run(project: Project, args: list[str], *, stdout_closed: bool, buffered: bool) -> subprocess.CompletedProcess[str]:
    env = _env()
    if buffered:
        env.pop("PYTHONUNBUFFERED")
    if stdout_closed:  # as a shell runs `duroxide ... >&-`
        command = ["sh", "-c", 'exec "$@" >&-', "sh", *CLI, *args]
        return subprocess.run(command, cwd=project.root, stderr=subprocess.PIPE, text=True, timeout=60, env=env)
    with open("/dev/full", "w") as full:
        return subprocess.run([*CLI, *args], cwd=project.root, stdout=full, stderr=subprocess.PIPE, text=True, timeout=60, env=env)


@pytest.mark.parametrize("buffered", [False, True], ids=["unbuffered", "buffered"])
def test_a_full_disk_or_closed_stdout_is_one_line_and_exit_1(project: Project, buffered: bool):
    assert duroxide("start", "Doubler", "--id", "i-1", "--input", "2", cwd=project.root).returncode == 0
    for args in COMMANDS:
        for closed, reason in ((False, "No space left on device"), (True, "standard output is closed")):
            result = _run(project, args, stdout_closed=closed, buffered=buffered)
            assert result.returncode == 1, (args, closed, result.returncode, result.stderr)
            assert result.stderr == f"error: cannot write the output: {reason}\n", (args, closed, result.stderr)


def test_a_command_that_prints_nothing_runs_with_stdout_closed(project: Project):
    assert duroxide("start", "Doubler", "--id", "i-1", "--input", "2", cwd=project.root).returncode == 0
    result = _run(project, ["cancel", "i-1"], stdout_closed=True, buffered=True)
    assert result.returncode == 0, result.stderr
    assert duroxide("status", "i-1", cwd=project.root).returncode == 0


def test_a_closed_pipe_still_ends_quietly(project: Project):
    for n in range(3):
        assert duroxide("start", "Doubler", "--id", f"i-{n}", "--input", "2", cwd=project.root).returncode == 0
    read, write = os.pipe()
    os.close(read)  # the reader is gone, as after `| head -0`
    try:
        for args in (["list"], ["history", "show", "i-1"]):
            result = subprocess.run([*CLI, *args], cwd=project.root, stdout=write, stderr=subprocess.PIPE, text=True, timeout=60, env=_env())
            assert result.returncode == 1 and result.stderr == "", (args, result.returncode, result.stderr)
    finally:
        os.close(write)
