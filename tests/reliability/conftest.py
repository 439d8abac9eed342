"""The fault suite's stores and processes.

Every fault test takes ``fault_store``, parametrised over both stores: a SQLite file in the
test's directory, and a PostgreSQL schema of the test's own on ``DUROXIDE_TEST_PG_URL``, dropped
afterwards (see ``tests/postgres_support.py``: where no server answers these cases skip, and
under ``DUROXIDE_REQUIRE_PG=1``, as in CI, they fail). Runtimes are real ``duroxide run``
processes of ``fault_app.py`` with short lock timeouts, so a takeover after a kill takes about a
second; the tests strike them with real signals. The faults only a store can suffer (a damaged
row, a held lock, a dropped table or connection) are ``FaultStore`` methods, one branch per store.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import pytest
import pytest_asyncio
from postgres_support import PG_CONNECT_URL, drop_schema, new_schema_name, require_postgres, schema_url

from duroxide_cli.providers.base import Provider
from duroxide_cli.providers.url import open_provider

APP = Path(__file__).with_name("fault_app.py")
CLI = [sys.executable, "-m", "duroxide_cli.cli.app"]

STORES = ["sqlite", "postgres"]

FAST_LEASES = {
    "DUROXIDE_ORCHESTRATOR_LOCK_TIMEOUT_MS": "1000",
    "DUROXIDE_WORKER_LOCK_TIMEOUT_MS": "1000",
    "DUROXIDE_POLL_INTERVAL_MS": "20",
}
"""A crashed process's work is taken over about a second after its last renewal."""

CORRUPT_BODY = '{"source_event_id": 2, oops'
"""What a damaged history row's body is overwritten with: text that is not JSON."""


class FaultStore:
    """One store under test: its URL for processes, providers for the test, and the faults
    only the store itself can cause (a damaged row, a held lock, a dropped table or connection)."""

    def __init__(self, kind: str, tmp_path: Path):
        self.kind = kind
        self.dir = tmp_path
        self.markers = tmp_path / "markers.txt"
        if kind == "sqlite":
            self.path = tmp_path / "store.db"
            self.url = f"sqlite:///{self.path}"
        elif kind == "postgres":
            self.schema = new_schema_name()
            self.url = schema_url(self.schema)
        else:
            raise ValueError(f"unknown store {kind}")
        self._opened: list[Provider] = []

    async def open(self) -> Provider:
        provider = await open_provider(self.url)
        self._opened.append(provider)
        return provider

    async def close(self) -> None:
        for provider in reversed(self._opened):
            await provider.close()
        if self.kind == "postgres":
            await drop_schema(self.schema)

    def skip_unless(self, *kinds: str, why: str) -> None:
        """Skip the test on any other store, saying ``why`` it does not apply there."""
        if self.kind not in kinds:
            pytest.skip(f"not on {self.kind}: {why}")

    async def _sql(self, statement: str, *args: object) -> str:
        """Run one statement on the PostgreSQL store's schema from a connection of its own."""
        import asyncpg

        conn = await asyncpg.connect(PG_CONNECT_URL, server_settings={"search_path": self.schema})
        try:
            return await conn.execute(statement, *args)
        finally:
            await conn.close()

    async def corrupt_event(self, instance_id: str, event_id: int) -> None:
        """Overwrite one history event's stored body with text that is not JSON."""
        update = "UPDATE history SET body = {} WHERE instance_id = {} AND event_id = {}"
        if self.kind == "sqlite":
            with contextlib.closing(sqlite3.connect(self.path)) as conn:
                changed = conn.execute(update.format("?", "?", "?"), (CORRUPT_BODY, instance_id, event_id)).rowcount
                conn.commit()
            assert changed == 1
        else:
            assert await self._sql(update.format("$1", "$2", "$3"), CORRUPT_BODY, instance_id, event_id) == "UPDATE 1"

    async def drop_table(self, table: str) -> None:
        if self.kind == "sqlite":
            with contextlib.closing(sqlite3.connect(self.path)) as conn:
                conn.execute(f"DROP TABLE {table}")
                conn.commit()
        else:
            await self._sql(f"DROP TABLE {table}")

    async def drop_connections(self) -> int:
        """End every server connection to the PostgreSQL store's schema (as a server restart, a
        failover or a network cut would); how many were ended."""
        from duroxide_cli.providers._postgres.database import application_name

        status = await self._sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            application_name(self.schema),
        )
        return int(status.split()[-1])

    @contextlib.asynccontextmanager
    async def write_lock_held(self) -> AsyncIterator[threading.Event]:
        """Hold the store's write lock from another connection until the block ends; the event
        is set while the lock is held. SQLite: ``BEGIN IMMEDIATE`` (the one write lock of the
        file). PostgreSQL: ``LOCK TABLE`` of every table a runtime writes in EXCLUSIVE mode, which
        blocks every write and row lock but not plain reads."""
        if self.kind == "postgres":
            tables = "instances, executions, history, orchestrator_queue, worker_queue"
            async with self._connection_holding(f"LOCK TABLE {tables} IN EXCLUSIVE MODE") as held:
                yield held
            return
        with self._sqlite_write_lock() as held:
            yield held

    @contextlib.asynccontextmanager
    async def row_locks_held(self, instance_ids: Sequence[str]) -> AsyncIterator[threading.Event]:
        """Hold the instances' rows with ``SELECT ... FOR UPDATE`` from another connection until
        the block ends (PostgreSQL)."""
        async with self._connection_holding("SELECT id FROM instances WHERE id = ANY ($1) FOR UPDATE", list(instance_ids)) as held:
            yield held

    @contextlib.asynccontextmanager
    async def _connection_holding(self, statement: str, *args: object) -> AsyncIterator[threading.Event]:
        import asyncpg

        held = threading.Event()
        conn = await asyncpg.connect(PG_CONNECT_URL, server_settings={"search_path": self.schema})
        try:
            async with conn.transaction():
                await conn.execute(statement, *args)
                held.set()
                yield held
            held.clear()
        finally:
            await conn.close()

    @contextlib.contextmanager
    def _sqlite_write_lock(self) -> Iterator[threading.Event]:
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

    def write_lock_is_free(self) -> bool:
        """Whether another connection could take the store's write lock now (always, on
        PostgreSQL, which locks rows, not the store)."""
        if self.kind != "sqlite":
            return True
        with contextlib.closing(sqlite3.connect(self.path, isolation_level=None, timeout=0)) as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                return False
            conn.execute("ROLLBACK")
            return True

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
    if request.param == "postgres":
        await require_postgres()
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

    @property
    def ready(self) -> bool:
        """Whether the runtime has started (its header is printed once it dispatches)."""
        return "orchestrations:" in self.stderr

    def wait_ready(self, timeout: float = 30) -> Runner:
        """Until the runtime has started."""
        deadline = time.monotonic() + timeout
        while not self.ready:
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
