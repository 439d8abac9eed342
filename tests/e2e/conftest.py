"""E2E harness: a real store, a real Runtime, a Client; with and without the generator cache.

Every test runs on both stores: a SQLite file, and a PostgreSQL schema of its own (dropped
afterwards; skipped where no PostgreSQL answers, see ``tests/postgres_support.py``)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from postgres_support import PG_CONNECT_URL, drop_schema, new_schema_name, require_postgres

from duroxide_cli import Client, Registry, Runtime, RuntimeOptions
from duroxide_cli.clock import Clock
from duroxide_cli.providers.postgres import PostgresProvider
from duroxide_cli.providers.sqlite import SqliteProvider


class Env:
    def __init__(self, provider, cache_size: int):
        self.provider = provider
        self.app = Registry()
        self.client = Client(provider)
        self.cache_size = cache_size

    def options(self, **overrides) -> RuntimeOptions:
        values = {"poll_interval_ms": 20, "cache_size": self.cache_size, "worker_lock_timeout_ms": 3000}
        values.update(overrides)
        return RuntimeOptions(**values)

    @contextlib.asynccontextmanager
    async def runtime(self, registry: Registry | None = None, clock: Clock | None = None, **overrides) -> AsyncIterator[Runtime]:
        runtime = Runtime(self.provider, registry=registry or self.app, options=self.options(**overrides), clock=clock)
        await runtime.start()
        try:
            yield runtime
        finally:
            await runtime.shutdown(timeout_ms=2000)

    async def run(self, name: str, input=None, instance_id: str = "i-1", timeout_ms: int = 15000, **overrides):
        """Start one instance, run it to a terminal status, return its state."""
        async with self.runtime(**overrides):
            await self.client.start_orchestration(instance_id, name, input)
            return await self.client.wait_for_orchestration(instance_id, timeout_ms=timeout_ms)

    async def kinds(self, instance_id: str = "i-1") -> list[str]:
        return [e.kind for e in await self.client.read_history(instance_id)]


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def provider(request, tmp_path):
    if request.param == "sqlite":
        store = await SqliteProvider.open(tmp_path / "e2e.db")
        yield store
        await store.close()
        return
    await require_postgres()
    schema = new_schema_name()
    store = await PostgresProvider.connect(PG_CONNECT_URL, schema=schema)
    try:
        yield store
    finally:
        await store.close()
        await drop_schema(schema)


@pytest.fixture(params=[1000, 0], ids=["cached", "replayed"])
def env(request, provider) -> Env:
    """With the generator cache (hits) and without it (a full replay every turn)."""
    return Env(provider, request.param)
