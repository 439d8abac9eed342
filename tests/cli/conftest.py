"""Fixtures for the command-line tests: a throwaway project and a way to invoke ``duroxide``.

Every test runs in its own temporary directory with its own ``duroxide.toml`` and SQLite file,
so no test touches the repository's ``.duroxide``.
"""

from __future__ import annotations

import asyncio
import os
import pty
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from duroxide_cli.cli.app import app as cli_app
from duroxide_cli.cli.logging_setup import reset_logging

APP_SOURCE = textwrap.dedent(
    '''
    """The app the CLI tests drive."""

    from duroxide_cli import Registry

    app = Registry()


    @app.activity("Double")
    async def double(ctx, x):
        return (x or 0) * 2


    @app.activity("Fail")
    async def fail(ctx, x):
        raise ValueError(f"bad input {x}")


    @app.orchestration("Doubler")
    def doubler(ctx, x):
        y = yield ctx.schedule_activity("Double", x)
        return y


    @app.orchestration("WaitForGo")
    def wait_for_go(ctx, x):
        first = yield ctx.schedule_activity("Double", x)
        data = yield ctx.wait_for_event("Go")
        return {"first": first, "data": data}


    @app.orchestration("Failing")
    def failing(ctx, x):
        yield ctx.schedule_activity("Fail", x)


    @app.orchestration("Countdown")
    def countdown(ctx, n):
        if n <= 0:
            return "liftoff"
        yield ctx.schedule_timer(1)
        yield ctx.continue_as_new(n - 1)
    '''
).lstrip()

CLI = [sys.executable, "-m", "duroxide_cli.cli.app"]


@dataclass
class Project:
    """A temporary duroxide project: ``duroxide.toml``, ``app.py`` and a store file."""

    root: Path

    @property
    def app_file(self) -> Path:
        return self.root / "app.py"

    @property
    def store_url(self) -> str:
        return f"sqlite:///{self.root / 'state.db'}"  # four slashes: absolute

    def edit_app(self, old: str, new: str) -> None:
        source = self.app_file.read_text()
        assert old in source, f"{old!r} is not in the app"
        self.app_file.write_text(source.replace(old, new))
        for cache in (self.root / "__pycache__").glob("app*.pyc"):
            cache.unlink()

    def line_of(self, text: str) -> int:
        """The 1-based line of ``app.py`` that contains ``text``."""
        for number, line in enumerate(self.app_file.read_text().splitlines(), 1):
            if text in line:
                return number
        raise AssertionError(f"{text!r} is not in the app")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Commands configure the ``duroxide`` loggers; leave them as other tests expect them."""
    yield
    reset_logging()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A project in a temporary directory, which is also the working directory."""
    for name in list(os.environ):
        if name.startswith("DUROXIDE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NO_COLOR", "1")
    root = tmp_path / "proj"
    root.mkdir()
    (root / "app.py").write_text(APP_SOURCE)
    (root / "duroxide.toml").write_text('[app]\nmodule = "app.py"\n[store]\nurl = "sqlite:///state.db"\n[runtime]\npoll_interval_ms = 20\n')
    monkeypatch.chdir(root)
    monkeypatch.syspath_prepend(str(root))
    yield Project(root)
    for name in [m for m in sys.modules if m == "app" or m.startswith("app.")]:
        del sys.modules[name]


@pytest.fixture
def cli(project: Project):
    """Invoke ``duroxide`` in this process; the result has ``stdout``, ``stderr`` and ``exit_code``."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        for name in [m for m in sys.modules if m == "app"]:
            del sys.modules[name]  # a fresh import of the (possibly edited) app each time
        return runner.invoke(cli_app, list(args), input=input, catch_exceptions=False)

    return invoke


def run_runtime_until(project: Project, instance_id: str, timeout_s: float = 20.0) -> None:
    """Run a Runtime on the project's store in this process until ``instance_id`` ends."""
    from duroxide_cli import Client, Runtime, RuntimeOptions
    from duroxide_cli.cli.app_loader import load_app
    from duroxide_cli.providers.url import open_provider

    async def main() -> None:
        provider = await open_provider(project.store_url)
        registry = load_app("app.py", project.root).registry
        runtime = Runtime(provider, registry=registry, options=RuntimeOptions(poll_interval_ms=20))
        await runtime.start()
        try:
            await Client(provider).wait_for_orchestration(instance_id, timeout_ms=int(timeout_s * 1000))
        finally:
            await runtime.shutdown(timeout_ms=1000)
            await provider.close()

    asyncio.run(main())


# -- real processes ------------------------------------------------------------------------------------


def duroxide(*args: str, cwd: Path, timeout: float = 60, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``duroxide`` as a separate process and wait for it."""
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env or _env())


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUROXIDE_")}
    env["NO_COLOR"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Background:
    """A ``duroxide`` process running in the background, stopped with SIGTERM."""

    def __init__(self, *args: str, cwd: Path):
        self.stderr_path = cwd / f".stderr-{time.monotonic_ns()}.log"
        self.stdout_path = cwd / f".stdout-{time.monotonic_ns()}.log"
        self._stderr = self.stderr_path.open("w")
        self._stdout = self.stdout_path.open("w")
        self.process = subprocess.Popen([*CLI, *args], cwd=cwd, stdout=self._stdout, stderr=self._stderr, text=True, env=_env())

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text()

    def wait_for_stderr(self, text: str, timeout: float = 30) -> str:
        """Wait until ``text`` appears on the process's stderr; returns all of it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = self.stderr
            if text in seen:
                return seen
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{text!r} did not appear on stderr; it has:\n{self.stderr}")

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._stderr.close()
            self._stdout.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._stderr.close()
        self._stdout.close()


@pytest.fixture
def background(project: Project) -> Iterator:
    """Start background ``duroxide`` processes; any still running at the end are killed."""
    started: list[Background] = []

    def start(*args: str) -> Background:
        process = Background(*args, cwd=project.root)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def wait_until(predicate, timeout: float = 30, interval: float = 0.05):
    """Poll ``predicate`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("the condition did not hold in time")


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def on_terminal(project: Project, *args: str, columns: int = 80, raw: bool = False) -> str:
    """Run ``duroxide`` with stdout and stderr on a pseudo-terminal ``columns`` wide; what it
    wrote, without its colour and style sequences unless ``raw``."""
    controller, terminal = pty.openpty()
    env = {**_env(), "COLUMNS": str(columns), "LINES": "50", "TERM": "xterm"}
    process = subprocess.Popen([*CLI, *args], cwd=project.root, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, env=env)
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: the process is gone
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    assert process.wait(timeout=60) == 0
    text = b"".join(chunks).decode().replace("\r\n", "\n")
    return text if raw else _ANSI.sub("", text)
