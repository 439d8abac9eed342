"""The conformance suite's stores: every test here runs against each of them.

A new store joins by adding an entry to STORES and an opener below; it is proven by passing
the suite. PostgreSQL joins once ``providers/postgres.py`` exists and runs where ``DUROXIDE_TEST_PG_URL`` (default
postgresql://postgres@127.0.0.1:5432/test) answers, each test in its own schema, and skips
with the reason otherwise.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from duroxide_cli.clock import Clock
from duroxide_cli.providers.base import Provider
from duroxide_cli.providers.sqlite import SqliteProvider
from duroxide_cli.providers.url import split_schema

PG_URL = os.environ.get("DUROXIDE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
_PG_CONNECT_URL = split_schema(PG_URL)[0]
"""PG_URL without our ``?schema=``, for direct asyncpg connections."""

STORES = ["sqlite-file", "sqlite-memory"]
if importlib.util.find_spec("duroxide_cli.providers.postgres") is not None:
    STORES.append("postgres")  # the suite proves a store: it joins as soon as it exists


class AdvancingClock(Clock):
    """The stores' clock in this suite: the wall clock plus however far the test moved it on,
    so a lease, back-off or timer runs out at once instead of after a real sleep."""

    def __init__(self) -> None:
        self._ahead_ms = 0

    def now_ms(self) -> int:
        return super().now_ms() + self._ahead_ms

    def advance(self, ms: int) -> None:
        """Move the stores' time ``ms`` on (the wall clock is untouched)."""
        self._ahead_ms += ms


class Store:
    """Opens providers on one store: the first is the test's ``provider``; more (where the
    store can be shared) stand for other processes. All of them read time from ``clock``; a
    store that judges leases by another clock (a database server's) must let the suite set it."""

    def __init__(self, kind: str, tmp_path: Path):
        self.kind = kind
        self.clock = AdvancingClock()
        self._tmp_path = tmp_path
        self._schema = f"duroxide_test_{uuid.uuid4().hex[:12]}"
        self._opened: list[Provider] = []

    async def open(self) -> Provider:
        if self.kind == "sqlite-file":
            provider: Provider = await SqliteProvider.open(self._tmp_path / "store.db", clock=self.clock)
        elif self.kind == "sqlite-memory":
            if self._opened:
                pytest.skip("an in-memory store belongs to one provider")
            provider = await SqliteProvider.in_memory(clock=self.clock)
        elif self.kind == "postgres":
            provider = await _open_postgres(self._schema, self.clock)
        else:
            raise ValueError(f"unknown store {self.kind}")
        self._opened.append(provider)
        return provider

    async def close(self) -> None:
        for provider in reversed(self._opened):
            await provider.close()
        if self.kind == "postgres" and self._opened:
            await _drop_schema(self._schema)


async def _open_postgres(schema: str, clock: Clock) -> Provider:
    from duroxide_cli.providers.postgres import PostgresProvider

    if not await _postgres_answers():
        pytest.skip(f"no PostgreSQL answers at DUROXIDE_TEST_PG_URL={PG_URL}")
    return await PostgresProvider.connect(_PG_CONNECT_URL, schema=schema, clock=clock)


_pg_answered: bool | None = None


async def _postgres_answers() -> bool:
    """Whether PostgreSQL answers at PG_URL, asked once per test session."""
    global _pg_answered
    if _pg_answered is None:
        import asyncpg

        try:
            conn = await asyncpg.connect(_PG_CONNECT_URL, timeout=3)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncio.TimeoutError):
            _pg_answered = False
        else:
            await conn.close()
            _pg_answered = True
    return _pg_answered


async def _drop_schema(schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_PG_CONNECT_URL, timeout=3)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest_asyncio.fixture(params=STORES)
async def store(request, tmp_path) -> AsyncIterator[Store]:
    opened = Store(request.param, tmp_path)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def clock(store: Store) -> AdvancingClock:
    """The time of the test's store: ``clock.advance(ms)`` instead of sleeping."""
    return store.clock


@pytest_asyncio.fixture
async def provider(store: Store) -> Provider:
    return await store.open()


@pytest_asyncio.fixture
async def other_process(store: Store, provider: Provider) -> Provider:
    """A second provider on the same store, as another process would have."""
    return await store.open()
