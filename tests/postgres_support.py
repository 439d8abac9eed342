"""PostgreSQL for the tests: where it is, whether it answers, and a schema of a test's own.

The server is named by ``DUROXIDE_TEST_PG_URL`` (default
postgresql://postgres@127.0.0.1:5432/test). Where none answers, PostgreSQL tests skip with a
reason that says how to run them; with ``DUROXIDE_REQUIRE_PG=1`` (set by ``.ci/run``) they fail
instead, so CI never passes by skipping them.
"""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest

from duroxide_cli.providers.url import split_schema

PG_URL = os.environ.get("DUROXIDE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
PG_CONNECT_URL = split_schema(PG_URL)[0]
"""PG_URL without our ``?schema=``, for direct asyncpg connections."""
REQUIRE_PG = os.environ.get("DUROXIDE_REQUIRE_PG", "") not in ("", "0")

_answered: bool | None = None


async def postgres_answers() -> bool:
    """Whether PostgreSQL answers at PG_URL, asked once per test session."""
    global _answered
    if _answered is None:
        import asyncpg

        try:
            conn = await asyncpg.connect(PG_CONNECT_URL, timeout=3)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncio.TimeoutError):
            _answered = False
        else:
            await conn.close()
            _answered = True
    return _answered


async def require_postgres() -> None:
    """Skip the test (fail it under DUROXIDE_REQUIRE_PG=1) when no PostgreSQL answers."""
    if await postgres_answers():
        return
    reason = (
        f"no PostgreSQL answers at {PG_URL}: start one (pg_ctlcluster <version> main start) or point"
        " DUROXIDE_TEST_PG_URL at one to run the PostgreSQL tests"
    )
    if REQUIRE_PG:
        pytest.fail(f"DUROXIDE_REQUIRE_PG is set but {reason}")
    pytest.skip(reason)


def new_schema_name() -> str:
    return f"duroxide_test_{uuid.uuid4().hex[:12]}"


def schema_url(schema: str) -> str:
    """The store URL of ``schema`` on the test server, as ``--store`` takes it."""
    separator = "&" if "?" in PG_CONNECT_URL else "?"
    return f"{PG_CONNECT_URL}{separator}schema={schema}"


async def drop_schema(schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_CONNECT_URL, timeout=3)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def schema_exists(schema: str) -> bool:
    import asyncpg

    conn = await asyncpg.connect(PG_CONNECT_URL, timeout=3)
    try:
        return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema))
    finally:
        await conn.close()


async def build_schema_at(conn, schema: str, version: int) -> None:  # noqa: ANN001 - an asyncpg connection
    """Create ``schema`` as a duroxide knowing versions up to ``version`` left it: its first
    ``version`` migrations, applied and recorded (``conn``'s search_path names ``schema``)."""
    from duroxide_cli.providers._postgres.migrations import load_migrations

    await conn.execute(f'CREATE SCHEMA "{schema}"')
    await conn.execute("CREATE TABLE schema_version (version integer PRIMARY KEY, name text NOT NULL,"
                       " applied_at timestamptz NOT NULL DEFAULT now())")
    for migration in load_migrations()[:version]:
        await conn.execute(migration.sql)
        await conn.execute("INSERT INTO schema_version (version, name) VALUES ($1, $2)", migration.version, migration.name)
