"""The fault suite's stores and processes.

Every fault test takes ``fault_store``, parametrised over the stores that exist (SQLite today;
PostgreSQL joins by adding a kind to STORES and its branches in ``FaultStore``). Runtimes are
real ``duroxide run`` processes of ``fault_app.py`` with short lock timeouts, so a takeover
after a kill takes about a second; the tests strike them with real signals.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from duroxide_cli.providers.base import Provider
from duroxide_cli.providers.url import open_provider

APP = Path(__file__).with_name("fault_app.py")
CLI = [sys.executable, "-m", "duroxide_cli.cli.app"]

STORES = ["sqlite"]
if importlib.util.find_spec("duroxide_cli.providers.postgres") is not None:
    STORES.append("postgres")  # runs where DUROXIDE_TEST_PG_URL answers, once its branches below exist

FAST_LEASES = {
    "DUROXIDE_ORCHESTRATOR_LOCK_TIMEOUT_MS": "1000",
    "DUROXIDE_WORKER_LOCK_TIMEOUT_MS": "1000",
    "DUROXIDE_POLL_INTERVAL_MS": "20",
}
"""A crashed process's work is taken over about a second after its last renewal."""


class FaultStore:
    """One store under test: its URL for processes, providers for the test, and the faults
    only the store itself can cause (a damaged row, a held write lock)."""

    def __init__(self, kind: str, tmp_path: Path):
        self.kind = kind
        self.dir = tmp_path
        self.markers = tmp_path / "markers.txt"
        if kind == "sqlite":
            self.path = tmp_path / "store.db"
            self.url = f"sqlite:///{self.path}"
        else:
            pytest.skip(f"the fault suite has no {kind} branch yet")
        self._opened: list[Provider] = []

    async def open(self) -> Provider:
        provider = await open_provider(self.url)
        self._opened.append(provider)
        return provider

    async def close(self) -> None:
        for provider in reversed(self._opened):
            await provider.close()

    def corrupt_event(self, instance_id: str, event_id: int) -> None:
        """Overwrite one history event's stored body with text that is not JSON."""
        with contextlib.closing(sqlite3.connect(self.path)) as conn:
            changed = conn.execute(
                "UPDATE history SET body = '{\"source_event_id\": 2, oops' WHERE instance_id = ? AND event_id = ?",
                (instance_id, event_id),
            ).rowcount
            conn.commit()
        assert changed == 1

    def drop_table(self, table: str) -> None:
        with contextlib.closing(sqlite3.connect(self.path)) as conn:
            conn.execute(f"DROP TABLE {table}")
            conn.commit()

    @contextlib.contextmanager
    def write_lock_held(self) -> Iterator[threading.Event]:
        """Hold the store's write lock from another connection until the block ends; the event
        is set while the lock is held."""
        held, release = threading.Event(), threading.Event()

        def hold() -> None:
            with contextlib.closing(sqlite3.connect(self.path, isolation_level=None)) as conn:
                conn.execute("BEGIN IMMEDIATE")
                held.set()
                release.wait(60)
                conn.execute("ROLLBACK")
            held.clear()

        thread = threading.Thread(target=hold, daemon=True)
        thread.start()
        assert held.wait(10)
        try:
            yield held
        finally:
            release.set()
            thread.join(10)

    # -- what the app's activities wrote --------------------------------------------------------

    def marks(self, kind: str = "start") -> list[list[str]]:
        if not self.markers.exists():
            return []
        return [line.split()[1:] for line in self.markers.read_text().splitlines() if line.startswith(kind + " ")]

    def activity_runs(self) -> Counter[tuple[str, int]]:
        """How many times each (instance, activity id) started."""
        return Counter((iid, int(aid)) for iid, aid, _ in self.marks("start"))


@pytest_asyncio.fixture(params=STORES)
async def fault_store(request, tmp_path) -> AsyncIterator[FaultStore]:
    store = FaultStore(request.param, tmp_path)
    try:
        yield store
    finally:
        await store.close()


class Runner:
    """A ``duroxide run`` of the fault app on one store."""

    def __init__(self, store: FaultStore, env: dict[str, str], name: str):
        self.log = store.dir / f"run-{name}.log"
        environment = {k: v for k, v in os.environ.items() if not k.startswith("DUROXIDE_")}
        environment.update(NO_COLOR="1", PYTHONUNBUFFERED="1", DUROXIDE_FAULT_MARKERS=str(store.markers), **env)
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [*CLI, "run", str(APP), "--store", store.url, "--worker-id", name, "--shutdown-timeout", "2000"],
                cwd=store.dir, stdout=subprocess.DEVNULL, stderr=log, env=environment,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def stderr(self) -> str:
        return self.log.read_text()

    def wait_ready(self, timeout: float = 30) -> Runner:
        """Until the runtime has started (its header is printed once it dispatches)."""
        deadline = time.monotonic() + timeout
        while "orchestrations:" not in self.stderr:
            assert self.process.poll() is None, f"duroxide run exited with {self.process.returncode}:\n{self.stderr}"
            assert time.monotonic() < deadline, f"duroxide run did not start:\n{self.stderr}"
            time.sleep(0.05)
        return self

    def signal(self, sig: int) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 20) -> int:
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        return self.process.wait(timeout)


@pytest.fixture
def runners(fault_store: FaultStore) -> Iterator:
    """Start ``duroxide run`` processes with fast leases (plus ``env``); all are killed at the end."""
    started: list[Runner] = []

    def start(name: str, **env: str) -> Runner:
        runner = Runner(fault_store, {**FAST_LEASES, **env}, name)
        started.append(runner)
        return runner

    yield start
    for runner in started:
        with contextlib.suppress(Exception):
            runner.signal(signal.SIGCONT)
            runner.kill()


async def until(predicate, timeout: float = 30.0, what: str = "the condition") -> None:
    """Poll an async or plain predicate every 20 ms."""
    import asyncio
    import inspect

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        await asyncio.sleep(0.02)
