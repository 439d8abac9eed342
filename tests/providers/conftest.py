"""The conformance suite's stores: every test here runs against each of them.

A new store joins by adding an entry to STORES and an opener below; it is proven by passing
the suite. PostgreSQL runs where ``DUROXIDE_TEST_PG_URL`` (default
postgresql://postgres@127.0.0.1:5432/test) answers, each test in its own schema, dropped
afterwards; elsewhere it skips with the reason (see ``tests/postgres_support.py``). Every store
reads time from the test's ``AdvancingClock``: PostgreSQL then uses it instead of the server's
clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from postgres_support import PG_CONNECT_URL, drop_schema, new_schema_name, require_postgres

from duroxide_cli.clock import Clock
from duroxide_cli.providers.base import Provider
from duroxide_cli.providers.sqlite import SqliteProvider

STORES = ["sqlite-file", "sqlite-memory", "postgres"]


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
        self.schema = new_schema_name()
        self._opened: list[Provider] = []

    async def open(self) -> Provider:
        if self.kind == "sqlite-file":
            provider: Provider = await SqliteProvider.open(self._tmp_path / "store.db", clock=self.clock)
        elif self.kind == "sqlite-memory":
            if self._opened:
                pytest.skip("an in-memory store belongs to one provider")
            provider = await SqliteProvider.in_memory(clock=self.clock)
        elif self.kind == "postgres":
            provider = await _open_postgres(self.schema, self.clock)
        else:
            raise ValueError(f"unknown store {self.kind}")
        self._opened.append(provider)
        return provider

    async def close(self) -> None:
        for provider in reversed(self._opened):
            await provider.close()
        if self.kind == "postgres" and self._opened:
            await drop_schema(self.schema)


async def _open_postgres(schema: str, clock: Clock) -> Provider:
    from duroxide_cli.providers.postgres import PostgresProvider

    await require_postgres()
    return await PostgresProvider.connect(PG_CONNECT_URL, schema=schema, clock=clock)


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
