"""Opening the SQLite connection of a store file: the pragmas, the checks that refuse a file that
is no duroxide store, the schema migration, and which sqlite errors trying again may fix.

Nothing here imports asyncio: ``database`` runs it on the store's thread, and a command that only
reads (``reads``) runs it on its own thread, with no event loop.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal, get_args

from ...errors import ConfigError, ProviderError
from .schema import check_version, migrate

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


def open_connection(
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


def store_error(operation: str, error: Exception, where: str) -> ProviderError:
    """``error`` (a sqlite3.Error, or a row the store cannot read) met by ``operation`` on the
    store at ``where``, as callers see it: retryable only where SQLite says a later try may work."""
    retryable = isinstance(error, sqlite3.Error) and is_retryable(error)
    return ProviderError(operation, f"{error} ({where})", retryable=retryable)


def is_retryable(error: sqlite3.Error) -> bool:
    """Whether trying the same call again later may succeed (see ``_RETRYABLE_CODES``)."""
    code = _code(error)
    if code is not None:
        return code in _RETRYABLE_CODES
    text = str(error).lower()
    return any(part in text for part in _RETRYABLE_TEXT)
