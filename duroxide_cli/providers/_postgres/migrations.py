"""Versioned migrations of a PostgreSQL store's schema (``_postgres/sql/NNN_name.sql``).

The first process to open a store creates its schema; processes that open it at once wait for
one another on a transaction-level advisory lock keyed by the schema's name, and each applies
only what ``schema_version`` does not list yet, all in one transaction (DDL is transactional in
PostgreSQL, so a migration is applied whole or not at all).
"""

from __future__ import annotations

from pathlib import Path

import asyncpg

from ...errors import ConfigError, StoreNotFoundError
from ..stored import Migration, newer_schema_message, older_schema_message
from ..stored import load_migrations as _load

_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now()
)
"""


def load_migrations() -> list[Migration]:
    """Every PostgreSQL migration shipped with the package, in version order."""
    return _load(Path(__file__).resolve().parent / "sql")


async def migrate(conn: asyncpg.Connection, schema: str, where: str, create: bool = True) -> int:
    """Create ``schema`` if needed and bring it up to date; returns the version it is at.

    ``conn``'s search_path must be ``schema``. Raises ConfigError when the schema was made by a
    newer duroxide (``where`` names the store in that message), and StoreNotFoundError when it
    does not exist and ``create`` is False (a reader never creates a store).
    """
    migrations = load_migrations()
    latest = migrations[-1].version if migrations else 0
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"duroxide migrate {schema}")
        if not create and await conn.fetchval("SELECT to_regclass($1)", f'"{schema}".schema_version') is None:
            raise StoreNotFoundError(where)
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(_VERSION_TABLE)
        current = await conn.fetchval("SELECT COALESCE(max(version), 0) FROM schema_version")
        if current > latest:
            raise ConfigError(newer_schema_message(where, current, latest))
        for migration in migrations[current:]:
            await conn.execute(migration.sql)  # no arguments: one round trip for the whole script
            await conn.execute(
                "INSERT INTO schema_version (version, name) VALUES ($1, $2)", migration.version, migration.name
            )
    return max(current, latest)


async def check_version(conn: asyncpg.Connection, schema: str, where: str) -> int:
    """The schema version of a store opened to read only, which must be this code's: nothing is
    written (no schema, no migration, no lock), so an older store is not migrated here. Raises
    StoreNotFoundError for a missing schema, ConfigError for one made by a newer duroxide and for
    an older one (a command that writes upgrades it first), as the SQLite store does."""
    migrations = load_migrations()
    latest = migrations[-1].version if migrations else 0
    if await conn.fetchval("SELECT to_regclass($1)", f'"{schema}".schema_version') is None:
        raise StoreNotFoundError(where)
    current = await conn.fetchval("SELECT COALESCE(max(version), 0) FROM schema_version")
    if current > latest:
        raise ConfigError(newer_schema_message(where, current, latest))
    if current < latest:
        raise ConfigError(older_schema_message(where, current, latest))
    return int(current)
