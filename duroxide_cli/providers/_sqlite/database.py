"""One sqlite3 connection, used only from one dedicated thread.

Each provider operation is one function run on that thread, which opens, runs and commits a
whole transaction: one thread hop per transaction, not one per statement (the cost model in
DESIGN section 4); operations that arrive while a transaction runs share the next one
(``group_commit``). The event loop never touches the connection.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

from ...errors import ProviderError
from .group_commit import OperationQueue, run_group_txn
from .schema import migrate
from .wakeups import QUEUES, PollState, Wake

T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000

Synchronous = Literal["full", "normal"]
"""SQLite's ``PRAGMA synchronous`` for a file: ``full`` (the default) syncs the WAL at every
commit, so every acknowledged commit survives power loss; ``normal`` syncs only at checkpoints,
so a power loss may undo the last acknowledged commits (a process crash never does)."""

SYNCHRONOUS_MODES: tuple[Synchronous, ...] = get_args(Synchronous)
_PRAGMA_LEVELS: dict[int, Synchronous] = {2: "full", 1: "normal"}
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


class Database:
    """The connection, its thread, and the thread-side state of idle polls."""

    def __init__(
        self,
        executor: ThreadPoolExecutor,
        conn: sqlite3.Connection,
        clock: Callable[[], int],
        where: str,
        synchronous: Synchronous | None = None,
    ):
        self._executor = executor
        self._conn = conn
        self._clock = clock
        self.where = where
        """The database, as error messages name it."""
        self.synchronous = synchronous
        """The ``PRAGMA synchronous`` in force, as the connection reported it after opening
        (None: a level other than full or normal)."""
        self._writes = 0
        self._polls = {queue: PollState() for queue in QUEUES}
        self._closed = False
        self.in_group = False
        """Set on the database thread while a group's transaction runs: operations then run in
        savepoints of it instead of transactions of their own."""
        self._queue = OperationQueue(lambda group: run_group_txn(self, self._conn, group))

    @classmethod
    async def connect(cls, path: Path | None, clock: Callable[[], int], synchronous: Synchronous = "full") -> Database:
        """Open ``path`` (None: a private in-memory database) and bring its schema up to date."""
        if synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be {' or '.join(SYNCHRONOUS_MODES)}, got {synchronous!r}")
        where = ":memory:" if path is None else str(path)
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="duroxide-sqlite")
        try:
            conn, in_force = await asyncio.get_running_loop().run_in_executor(
                executor, _open_connection, path, clock, where, synchronous
            )
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(executor, conn, clock, where, in_force)

    # -- the event loop side --------------------------------------------------------------------

    async def call(self, operation: str, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` (``write``, ``read`` or ``poll``) on the database thread, in the next
        transaction; sqlite errors become ProviderError."""
        if self._closed:
            raise ProviderError(operation, f"the store {self.where} is closed")
        kind: Literal["read", "poll", "write"] = "read" if fn == self.read else "poll" if fn == self.poll else "write"
        result: T = await self._queue.submit(self._executor, operation, fn, args, kind)
        return result

    async def close(self) -> None:
        """Close the connection and stop the thread; later calls raise ProviderError."""
        if self._closed:
            return
        self._closed = True
        await self._queue.drained()
        await asyncio.get_running_loop().run_in_executor(self._executor, self._conn.close)
        self._executor.shutdown(wait=True)

    # -- the database thread side ---------------------------------------------------------------

    def write(self, fn: Callable[..., T], wake: Wake, *args: Any) -> T:
        """``fn(conn, now_ms, wake, *args)`` inside BEGIN IMMEDIATE ... COMMIT (or the group's)."""
        if self.in_group:
            result = fn(self._conn, self._clock(), wake, *args)
            self._writes += 1
            return result
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(self._conn, self._clock(), wake, *args)
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
        self._writes += 1
        return result

    def read(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, now_ms, *args)`` inside one read transaction (a consistent snapshot)."""
        if self.in_group:
            return fn(self._conn, self._clock(), *args)
        self._conn.execute("BEGIN")
        try:
            result = fn(self._conn, self._clock(), *args)
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
        return result

    def poll(self, queue: str, scope: str | None, fn: Callable[..., list[T]], wake: Wake, *args: Any) -> list[T]:
        """A fetch for ``queue`` that is answered without a query when it cannot find anything:
        no other connection committed (``PRAGMA data_version``), this one wrote nothing, nothing
        the last empty fetch saw has come due, and it asked for the same ``scope``."""
        state = self._polls[queue]
        (data_version,) = self._conn.execute("PRAGMA data_version").fetchone()
        if state.can_skip(data_version, self._writes, self._clock(), scope):
            return []
        found = self.write(fn, wake, *args)
        if found:
            state.forget()
        else:
            state.remember_empty(data_version, self._writes, wake.next_due_ms.get(queue), scope)
        return found

    def guarded(self, operation: str, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        """``fn(*args)`` with sqlite errors as ProviderError (database thread); outside a group, a
        transaction the error left open is rolled back."""
        try:
            return fn(*args)
        except sqlite3.Error as error:
            if self._conn.in_transaction and not self.in_group:  # a failed COMMIT leaves the transaction open
                self._conn.execute("ROLLBACK")
            raise ProviderError(operation, f"{error} ({self.where})", retryable=_is_busy(error)) from error


def _open_connection(
    path: Path | None, clock: Callable[[], int], where: str, synchronous: Synchronous
) -> tuple[sqlite3.Connection, Synchronous | None]:
    """Connect (on the database thread), set the pragmas, migrate; also the synchronous level
    the connection reports once set."""
    try:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(":memory:" if path is None else str(path), isolation_level=None)
    except (OSError, sqlite3.Error) as error:
        raise ProviderError("open", f"cannot open {where}: {error}") from error
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if path is not None:
            _retry_while_busy(lambda: conn.execute("PRAGMA journal_mode = WAL"))
        conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        (level,) = conn.execute("PRAGMA synchronous").fetchone()
        migrate(conn, clock(), where)
    except sqlite3.Error as error:
        conn.close()
        raise ProviderError("open", f"{error} ({where})", retryable=_is_busy(error)) from error
    except BaseException:
        conn.close()
        raise
    return conn, _PRAGMA_LEVELS.get(level)


def _retry_while_busy(statement: Callable[[], object]) -> None:
    """Switching a new file to WAL needs a moment alone with it, and SQLite answers "database is
    locked" at once (without the busy timeout) while another process does the same: try again."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            statement()
            return
        except sqlite3.OperationalError as error:
            if not _is_busy(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _is_busy(error: sqlite3.Error) -> bool:
    """Whether another connection held a lock: trying again may succeed."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    text = str(error).lower()
    return "locked" in text or "busy" in text
