"""One sqlite3 connection, used only from one dedicated thread.

Each provider operation is one function run on that thread, which opens, runs and commits a
whole transaction: one thread hop per transaction, not one per statement (the cost model in
DESIGN section 4); operations that arrive while a transaction runs share the next one
(``group_commit``). The event loop never touches the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

from ...errors import ProviderError
from .connection import SYNCHRONOUS_MODES, Synchronous, open_connection, store_error
from .database_thread import DatabaseThread
from .group_commit import OperationQueue, run_group_txn
from .rows import UnreadableRow
from .wakeups import QUEUES, PollState, Wake

T = TypeVar("T")


class Database:
    """The connection, its thread, and the thread-side state of idle polls."""

    def __init__(
        self,
        thread: DatabaseThread,
        conn: sqlite3.Connection,
        clock: Callable[[], int],
        where: str,
        synchronous: Synchronous | None = None,
        read_only: bool = False,
    ):
        self._thread = thread
        self._conn = conn
        self._clock = clock
        self.where = where
        """The database, as error messages name it."""
        self.synchronous = synchronous
        """The ``PRAGMA synchronous`` in force, as the connection reported it after opening
        (None: a level other than full or normal)."""
        self.read_only = read_only
        """Opened to read only: no write reaches the file (``write`` raises ProviderError)."""
        self._writes = 0
        self._polls = {queue: PollState() for queue in QUEUES}
        self._closed = False
        self.in_group = False
        """Set on the database thread while a group's transaction runs: operations then run in
        savepoints of it instead of transactions of their own."""
        self._queue = OperationQueue(lambda group: run_group_txn(self, self._conn, group))

    @classmethod
    async def connect(
        cls, path: Path | None, clock: Callable[[], int], synchronous: Synchronous = "full", *, read_only: bool = False
    ) -> Database:
        """Open ``path`` (None: a private in-memory database) and bring its schema up to date;
        with ``read_only``, open it without writing anything (see ``open_connection``)."""
        if synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be {' or '.join(SYNCHRONOUS_MODES)}, got {synchronous!r}")
        where = ":memory:" if path is None else str(path)
        thread = DatabaseThread()
        try:
            conn, in_force = await thread.run(open_connection, path, clock, where, synchronous, read_only and path is not None)
        except BaseException:
            await thread.stop()
            raise
        return cls(thread, conn, clock, where, in_force, read_only and path is not None)

    # -- the event loop side --------------------------------------------------------------------

    async def call(self, operation: str, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` (``write``, ``read`` or ``poll``) on the database thread, in the next
        transaction; sqlite errors become ProviderError."""
        if self._closed:
            raise ProviderError(operation, f"the store {self.where} is closed")
        kind = _KINDS.get(getattr(fn, "__func__", None), "write")
        result: T = await self._queue.submit(self._thread, operation, fn, args, kind)
        return result

    async def call_batched(self, operation: str, many: Callable[..., list[Any]], wake: Wake, *args: Any) -> Any:
        """``call(operation, self.write, one, wake, *args)`` for a write that many callers make at
        once (a thousand starts): such calls that share a transaction run as one call
        ``many(conn, now_ms, [(wake, *args), ...])``, which returns each one's result, or the
        exception to raise to it, in order (see ``write_batch``). Alone, it is ``many`` of one."""
        if self._closed:
            raise ProviderError(operation, f"the store {self.where} is closed")
        item = (wake, *args)
        batch = None if self.read_only else many
        return await self._queue.submit(self._thread, operation, self.write, (_one, wake, many, item), "write", batch, item)

    def idle(self) -> bool:
        """Nothing submitted through ``call`` is running or waiting (event loop)."""
        return not self._closed and self._queue.idle()

    def forward(
        self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], operation: str, fn: Callable[..., Any], *args: Any
    ) -> None:
        """From any thread: run ``fn(*args)`` (``write``) on the database thread as a transaction
        of its own, and settle ``future`` (of ``loop``) with its result, or its error as
        ``call`` raises it -- a hop straight from the thread that built the operation (a turn
        thread), without the event loop in between. Raises ProviderError once the store is closed."""
        if self._closed:
            raise ProviderError(operation, f"the store {self.where} is closed")
        try:
            self._thread.forward(loop, future, self.guarded, operation, fn, args)
        except RuntimeError:
            raise ProviderError(operation, f"the store {self.where} is closed") from None

    async def close(self) -> None:
        """Close the connection and stop the thread; later calls raise ProviderError."""
        if self._closed:
            return
        self._closed = True
        await self._queue.drained()
        await self._thread.run(self._conn.close)
        await self._thread.stop()

    # -- the database thread side ---------------------------------------------------------------

    def write(self, fn: Callable[..., T], wake: Wake, *args: Any) -> T:
        """``fn(conn, now_ms, wake, *args)`` inside BEGIN IMMEDIATE ... COMMIT (or the group's)."""
        if self.read_only:
            raise _ReadOnly()
        if self.in_group:
            result = fn(self._conn, self._clock(), wake, *args)
        else:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(self._conn, self._clock(), wake, *args)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        self._writes += 1
        wake.writes = self._writes
        return result

    def write_batch(self, many: Callable[..., list[Any]], items: list[tuple[Any, ...]]) -> list[Any]:
        """``many(conn, now_ms, items)`` inside the group's transaction (database thread); each
        item's wake (its first element) counts the write as ``write`` does."""
        outcomes = many(self._conn, self._clock(), items)
        self._writes += 1
        for item in items:
            item[0].writes = self._writes
        return outcomes

    def lease(self, fn: Callable[..., T], wake: Wake, *args: Any) -> T:
        """``write`` for a transaction that writes leases only (as a fetch does), so that at
        ``synchronous=FULL`` it is not synced by itself (see ``group_commit``)."""
        return self.write(fn, wake, *args)

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
            wake.writes = self._writes
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
        except (sqlite3.Error, UnreadableRow) as error:
            self._roll_back()
            raise store_error(operation, error, self.where) from error
        except _ReadOnly:
            raise ProviderError(
                operation, f"the store {self.where} was opened to read only; this operation writes", retryable=False
            ) from None

    def _roll_back(self) -> None:
        """End a transaction an error left open (a failed COMMIT does) unless a group owns it; if
        even that fails, the next BEGIN reports it."""
        if self._conn.in_transaction and not self.in_group:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")


def _one(conn: sqlite3.Connection, now_ms: int, wake: Wake, many: Callable[..., list[Any]], item: tuple[Any, ...]) -> Any:
    """A batchable write made alone: ``many`` of one item, its exception raised."""
    (outcome,) = many(conn, now_ms, [item])
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


_KINDS: dict[object, Literal["read", "poll", "write"]] = {Database.read: "read", Database.poll: "poll", Database.lease: "poll"}
"""What an operation run through each of the database thread's entry points writes (see ``Operation.kind``)."""


class _ReadOnly(Exception):
    """A write asked of a store opened to read only."""
