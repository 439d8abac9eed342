"""One sqlite3 connection, used only from one dedicated thread.

Each provider operation is one function run on that thread, which opens, runs and commits a
whole transaction: one thread hop per transaction, not one per statement (the cost model in
DESIGN section 4); operations that arrive while a transaction runs share the next one
(``group_commit``). The event loop never touches the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

from ...errors import ConfigError, ProviderError
from .database_thread import DatabaseThread
from .group_commit import OperationQueue, run_group_txn
from .rows import UnreadableRow
from .schema import check_version, migrate
from .wakeups import QUEUES, PollState, Wake

T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000

Synchronous = Literal["full", "normal"]
"""SQLite's ``PRAGMA synchronous`` for a file: ``full`` (the default) syncs the WAL at every
commit, so every acknowledged commit survives power loss; ``normal`` syncs only at checkpoints,
so a power loss may undo the last acknowledged commits (a process crash never does)."""

SYNCHRONOUS_MODES: tuple[Synchronous, ...] = get_args(Synchronous)
_PRAGMA_LEVELS: dict[int, Synchronous] = {2: "full", 1: "normal"}
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 5, 6, 14, 26

_RETRYABLE_CODES = frozenset({
    4,   # ABORT: the statement was rolled back under it
    5,   # BUSY: another connection holds the lock past the busy timeout
    6,   # LOCKED: a conflict inside this process
    7,   # NOMEM
    9,   # INTERRUPT
    10,  # IOERR (every extended code): an I/O hiccup
    13,  # FULL: the disk is full; freeing space fixes it
    15,  # PROTOCOL: a WAL locking race
    17,  # SCHEMA: the schema changed under a prepared statement
})
"""SQLite's primary result codes (https://sqlite.org/rescode.html) that trying again later may
fix. Every other code is permanent: ERROR (a missing table: a schema this code does not expect),
READONLY, CORRUPT, NOTADB, CANTOPEN, PERM, CONSTRAINT, FORMAT, and the rest."""

_RETRYABLE_TEXT = ("locked", "busy", "disk i/o error", "database or disk is full", "interrupted", "out of memory")
"""The same classes by message, for errors that carry no code (Python 3.10's sqlite3 has no
``sqlite_errorcode``). Matching text is the store's business only: what leaves the store is
``ProviderError.retryable``."""

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700
"""A store file, and the directories created for it, are private to the user whatever the
umask: inputs and outputs often carry personal data and secrets."""


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
        with ``read_only``, open it without writing anything (see ``_open_connection``)."""
        if synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be {' or '.join(SYNCHRONOUS_MODES)}, got {synchronous!r}")
        where = ":memory:" if path is None else str(path)
        thread = DatabaseThread()
        try:
            conn, in_force = await thread.run(_open_connection, path, clock, where, synchronous, read_only and path is not None)
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
        except sqlite3.Error as error:
            self._roll_back()
            raise ProviderError(operation, f"{error} ({self.where})", retryable=is_retryable(error)) from error
        except UnreadableRow as error:
            self._roll_back()
            raise ProviderError(operation, f"{error} ({self.where})", retryable=False) from error
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


_KINDS: dict[object, Literal["read", "poll", "write"]] = {Database.read: "read", Database.poll: "poll", Database.lease: "poll"}
"""What an operation run through each of the database thread's entry points writes (see ``Operation.kind``)."""


class _ReadOnly(Exception):
    """A write asked of a store opened to read only."""


def _open_connection(
    path: Path | None, clock: Callable[[], int], where: str, synchronous: Synchronous, read_only: bool
) -> tuple[sqlite3.Connection, Synchronous | None]:
    """Connect (on the database thread), set the pragmas, migrate; also the synchronous level
    the connection reports once set.

    A file is refused (ConfigError) when it is a directory, not a SQLite database, or a database
    with tables but no duroxide schema: nothing is written to it. Opened to write, a missing file
    and its missing directories are created private to the user. Opened ``read_only``, nothing
    is written: the schema version is only checked (see ``check_version``), and no lock that
    would wait for a writer is taken.
    """
    if path is not None and path.is_dir():
        raise ConfigError(f"the store {where} is a directory; name a database file inside it, such as {path / 'duroxide.db'}")
    try:
        if path is None:
            conn = sqlite3.connect(":memory:", isolation_level=None)
        elif read_only:
            conn = _connect_read_only(path)
        else:
            _create_private(path)
            conn = sqlite3.connect(str(path), isolation_level=None)
    except OSError as error:
        raise ProviderError("open", f"cannot open {where}: {error.strerror or error}") from error
    except sqlite3.Error as error:
        raise _open_failure(error, where) from error
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if path is not None:
            _check_is_duroxide_store(conn, where)
        if read_only:
            check_version(conn, where)
            return conn, None
        if path is not None:
            _retry_while_busy(lambda: conn.execute("PRAGMA journal_mode = WAL"))
        conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        (level,) = conn.execute("PRAGMA synchronous").fetchone()
        migrate(conn, clock(), where)
    except sqlite3.Error as error:
        conn.close()
        raise _open_failure(error, where) from error
    except BaseException:
        conn.close()
        raise
    return conn, _PRAGMA_LEVELS.get(level)


def _open_failure(error: sqlite3.Error, where: str) -> Exception:
    """What opening ``where`` raises for ``error``: a file that is not a database is the user's
    mistake (ConfigError); anything else the store's (ProviderError)."""
    if _code(error) == _SQLITE_NOTADB:
        return ConfigError(f"{where} is not a SQLite database (nor a duroxide store); point the store at another file")
    return ProviderError("open", f"cannot open {where}: {error}", retryable=is_retryable(error))


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that never writes the file. A WAL database needs its ``-wal`` and ``-shm``
    files to be read; when they are gone (every writer closed cleanly) and cannot be created (a
    read-only directory), no writer can be at work there either, so the file is read as
    immutable."""
    uri = f"file:{_uri_path(path)}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        return conn
    except sqlite3.Error as error:
        conn.close()
        if _code(error) != _SQLITE_CANTOPEN or Path(f"{path}-wal").exists():
            raise
    return sqlite3.connect(f"{uri}&immutable=1", uri=True, isolation_level=None)


def _uri_path(path: Path) -> str:
    from urllib.parse import quote

    return quote(str(path.absolute()))


def _create_private(path: Path) -> None:
    """Create the missing directories of ``path`` (0700) and the file itself (0600) if missing;
    an existing file or directory keeps its mode. SQLite gives the ``-wal`` and ``-shm`` files
    the database file's mode."""
    missing = []
    directory = path.parent
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIRECTORY_MODE)
        except FileExistsError:
            continue  # another process made it first
        os.chmod(directory, DIRECTORY_MODE)  # mkdir's mode is masked by the umask
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def _check_is_duroxide_store(conn: sqlite3.Connection, where: str) -> None:
    """Refuse a database that holds tables but no duroxide schema (someone else's database),
    before anything is written to it."""
    tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    if tables and ("schema_version" not in tables or "instances" not in tables):
        shown = ", ".join(tables[:3]) + (", ..." if len(tables) > 3 else "")
        raise ConfigError(
            f"{where} is a SQLite database with other tables ({shown}) and no duroxide schema; "
            "refusing to add duroxide's tables to it: point the store at a new file or a duroxide store"
        )


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


def _code(error: sqlite3.Error) -> int | None:
    """SQLite's primary result code of ``error`` (None when it carries none)."""
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def _is_busy(error: sqlite3.Error) -> bool:
    """Whether another connection held a lock."""
    code = _code(error)
    if code is not None:
        return code in (_SQLITE_BUSY, _SQLITE_LOCKED)
    text = str(error).lower()
    return "locked" in text or "busy" in text


def is_retryable(error: sqlite3.Error) -> bool:
    """Whether trying the same call again later may succeed (see ``_RETRYABLE_CODES``)."""
    code = _code(error)
    if code is not None:
        return code in _RETRYABLE_CODES
    text = str(error).lower()
    return any(part in text for part in _RETRYABLE_TEXT)
