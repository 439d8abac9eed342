"""A SQLite store read synchronously, for a command that only reads (``duroxide status``, ``list``).

``SqliteProvider`` is asynchronous: its connection lives on a thread of its own, reached from an
event loop. A command that asks one question and exits pays more for starting asyncio and that
thread than for the question, so ``SqliteReads`` asks it on the caller's thread instead, with
neither imported. It opens the file as ``SqliteProvider.open(..., read_only=True)`` does (the
same checks and errors, nothing written, no lock that waits for a writer), runs the provider's
own transaction functions in one read transaction each, and reports a sqlite error as the same
``ProviderError``. The tests compare its answers with the provider's on the same files.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ...clock import Clock
from ..base import InstanceFilter, InstanceRecord, InstanceRecordPage, RuntimeInfo
from . import listing, runtimes
from .connection import open_connection, store_error
from .rows import UnreadableRow

T = TypeVar("T")


class SqliteReads:
    """The reads of ``SqliteProvider`` that ``status`` and ``list`` make, on one read-only
    connection used from the thread that opened it. Close it (or use it as a context manager)."""

    def __init__(self, conn: sqlite3.Connection, where: str, clock: Clock | None = None):
        """Use ``open``; this wraps a connection already opened to read only."""
        self._conn = conn
        self._clock = clock or Clock()
        self.where = where
        """The database, as error messages name it."""

    @classmethod
    def open(cls, path: Path, *, clock: Clock | None = None) -> SqliteReads:
        """Open the existing store file at ``path`` to read it. Raises ConfigError or
        ProviderError as ``SqliteProvider.open(path, read_only=True)`` does."""
        clock = clock or Clock()
        where = str(path)
        conn, _ = open_connection(path, clock.now_ms, where, "full", True)
        return cls(conn, where, clock)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> SqliteReads:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get_instance(self, instance_id: str) -> InstanceRecord | None:
        return self._read("get_instance", listing.get_instance_txn, instance_id)

    def list_instances_page(
        self, filter: InstanceFilter | None = None, limit: int = 50, cursor: str | None = None
    ) -> InstanceRecordPage:
        if cursor is not None:
            listing.decode_cursor(cursor)  # a bad cursor is the caller's ValueError, not a store failure
        return self._read("list_instances_page", listing.list_instances_page_txn, filter, limit, cursor)

    def count_instances(self, filter: InstanceFilter | None = None) -> int:
        return self._read("count_instances", listing.count_instances_txn, filter)

    def list_runtimes(self, seen_since_ms: int | None = None) -> list[RuntimeInfo]:
        return self._read("list_runtimes", runtimes.list_runtimes_txn, seen_since_ms)

    def _read(self, operation: str, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, now_ms, *args)`` in one read transaction (a consistent snapshot); errors as
        ``Database.guarded`` reports them."""
        try:
            self._conn.execute("BEGIN")
            try:
                result = fn(self._conn, self._clock.now_ms(), *args)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return result
        except (sqlite3.Error, UnreadableRow) as error:
            self._roll_back()
            raise store_error(operation, error, self.where) from error

    def _roll_back(self) -> None:
        if self._conn.in_transaction:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the next BEGIN reports it
