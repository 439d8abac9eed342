"""Versioned migrations of the SQLite schema (``providers/schema/NNN_name.sql``).

Migrations are applied in order inside one ``BEGIN IMMEDIATE`` transaction, so two processes
opening a new file at once do not both apply them: the second waits for the write lock and
then finds them recorded in ``schema_version``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ...errors import ConfigError
from ..stored import Migration, newer_schema_message, older_schema_message
from ..stored import load_migrations as _load

_FOLDER = Path(__file__).resolve().parent.parent / "schema"
"""``providers/schema``, shipped as package data; read as files (``importlib.resources`` would
cost every short command a few milliseconds of imports)."""


def load_migrations() -> list[Migration]:
    """Every SQLite migration shipped with the package, in version order."""
    return _load(_FOLDER)


def migrate(conn: sqlite3.Connection, now_ms: int, where: str) -> int:
    """Bring the schema up to date; returns the version it is at.

    Raises ConfigError when the database was made by a newer duroxide. ``where`` names the
    database in that message.
    """
    migrations = load_migrations()
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = _current_version_txn(conn)
        latest = migrations[-1].version if migrations else 0
        if current > latest:
            raise ConfigError(newer_schema_message(where, current, latest))
        for migration in migrations[current:]:
            for statement in split_statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, name, applied_at_ms) VALUES (?, ?, ?)",
                (migration.version, migration.name, now_ms),
            )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return max(current, len(migrations))


def check_version(conn: sqlite3.Connection, where: str) -> int:
    """The schema version of a store opened to read only, which must be this code's: nothing is
    written, so an older store is not migrated here. Raises ConfigError for a store made by a
    newer duroxide, for an older one (a command that writes upgrades it first), and for an empty
    file."""
    latest = len(load_migrations())
    has_table = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
    if not has_table:
        raise ConfigError(
            f"{where} holds no duroxide store yet; `duroxide start`, `duroxide execute` or `duroxide run` creates one"
        )
    (current,) = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
    if current > latest:
        raise ConfigError(newer_schema_message(where, current, latest))
    if current < latest:
        raise ConfigError(older_schema_message(where, current, latest))
    return current


def _current_version_txn(conn: sqlite3.Connection) -> int:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)"
    )
    (version,) = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
    return version


def split_statements(sql: str) -> list[str]:
    """The complete SQL statements of a script, one by one.

    ``executescript`` would commit the open transaction first, so statements run one at a time.
    """
    statements, pending = [], ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if _has_code(pending):
                statements.append(pending.strip())
            pending = ""
    if _has_code(pending):
        raise RuntimeError(f"incomplete SQL statement at the end of a migration: {pending.strip()[:80]!r}")
    return statements


def _has_code(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())
