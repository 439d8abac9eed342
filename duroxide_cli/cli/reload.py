"""``duroxide run --reload``: the runtime in a child process, restarted when the code changes.

On every start the new code is first replayed against every Running instance (in a fresh
process: ``duroxide replay --running --json``); the instances it would diverge on are listed
with the event and the line of code, and the new runtime does not dispatch them (they stay
Running with the reason in ``status``) until a later reload makes them consistent again.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from . import render
from .app_loader import watch_roots
from .config import load_settings
from .exits import ExitCode, fail
from .preflight import held_back_reason

_CLI = [sys.executable, "-m", "duroxide_cli.cli.app"]


class Supervisor:
    """Owns the runtime child process and the file watcher."""

    def __init__(
        self, app_ref: str | None, store: str | None, run_flags: list[str], shutdown_timeout_ms: int = 10000, debounce_ms: int = 300
    ):
        self.app_ref = app_ref
        self.common_flags: list[str] = []
        if app_ref:
            self.common_flags += ["--app", app_ref]
        if store:
            self.common_flags += ["--store", store]
        self.run_flags = run_flags
        self.debounce_ms = debounce_ms
        self.stop_timeout_s = shutdown_timeout_ms / 1000 + 10
        self.child: subprocess.Popen[bytes] | None = None
        self.stop = threading.Event()
        self._reported_exit = False
        self._held_back: set[str] = set()
        self._workdir = Path(tempfile.mkdtemp(prefix="duroxide-reload-"))

    def run(self) -> int:
        """Watch and restart until Ctrl-C or SIGTERM; exits 0 after stopping the child."""
        import watchfiles

        try:
            settings = load_settings(app=self.app_ref)
            if not settings.app:
                raise ConfigError("no app configured: pass APP, set DUROXIDE_APP, or add [app] module to duroxide.toml")
            roots = watch_roots(settings.app, settings.app_base_dir)
        except ConfigError as error:
            raise fail(error) from None
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            render.note(f"watching {', '.join(str(r) for r in roots)} for changes")
            self._restart()
            for changes in watchfiles.watch(
                *roots,
                watch_filter=watchfiles.PythonFilter(),
                stop_event=self.stop,
                yield_on_timeout=True,
                rust_timeout=500,
                debounce=self.debounce_ms,
                raise_interrupt=False,
            ):
                if self.stop.is_set():
                    break
                if not changes:
                    self._notice_exit()
                    continue
                names = sorted({_shown(Path(path)) for _, path in changes})
                render.note(f"change detected in {', '.join(names)}; reloading", style="bold")
                self._restart()
        finally:
            self._stop_child()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            shutil.rmtree(self._workdir, ignore_errors=True)
        render.note("stopped")
        return ExitCode.OK

    # -- the child -------------------------------------------------------------------------------------
    def _restart(self) -> None:
        self._stop_child()
        if self.stop.is_set():
            return
        verdict = self._preflight()
        if self.stop.is_set():
            return
        if verdict is None:
            render.note("the runtime is not restarted until the code loads; waiting for a change", style="yellow")
            return
        diverging = [item for item in verdict.get("instances", []) if not item.get("consistent", True)]
        checked = len(verdict.get("instances", []))
        if diverging:
            render.divergence_list(
                f"{len(diverging)} of {checked} running instance(s) would diverge with the new code; they are not dispatched:",
                diverging,
            )
        elif checked:
            render.note(f"replayed {checked} running instance(s) against the new code: all consistent")
        exclusions = self._workdir / "exclusions.json"
        held_back = {item["instance_id"]: held_back_reason(item) for item in diverging}
        released = sorted(self._held_back - set(held_back))
        self._held_back = set(held_back)
        exclusions.write_text(json.dumps({"held_back": held_back, "released": released}), encoding="utf-8")
        argv = [*_CLI, "run", *self.common_flags, *self.run_flags, "--exclude-file", str(exclusions)]
        self.child = subprocess.Popen(argv)
        self._reported_exit = False

    def _preflight(self) -> dict[str, Any] | None:
        """Replay the running instances against the code on disk; None if the app does not load."""
        argv = [*_CLI, "replay", "--running", "--json", *self.common_flags]
        result = subprocess.run(argv, stdout=subprocess.PIPE, check=False)
        if result.returncode == ExitCode.USAGE:
            return None
        if result.returncode == ExitCode.NOT_FOUND:
            return {"instances": []}  # no store yet: nothing runs, and the runtime creates it
        try:
            return json.loads(result.stdout or b"{}")
        except json.JSONDecodeError:
            render.warning(f"the pre-flight replay exited with {result.returncode}; starting without it")
            return {"instances": []}

    def _stop_child(self) -> None:
        child, self.child = self.child, None
        if child is None or child.poll() is not None:
            return
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=self.stop_timeout_s)
        except subprocess.TimeoutExpired:
            render.warning(f"the runtime did not stop within {self.stop_timeout_s:.0f} s; killing it")
            child.kill()
            child.wait()

    def _notice_exit(self) -> None:
        if self.child is None or self._reported_exit:
            return
        code = self.child.poll()
        if code is not None:
            self._reported_exit = True
            render.note(f"the runtime exited with code {code}; it restarts on the next change", style="yellow")

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.stop.set()
        child = self.child
        if child is not None and child.poll() is None:
            try:
                child.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
