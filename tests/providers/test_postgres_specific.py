"""What only the PostgreSQL store promises: its schema and migrations, several processes on one
schema (row locks, NOTIFY), and dropped connections as retryable errors."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest
import pytest_asyncio
from postgres_support import PG_CONNECT_URL, drop_schema, new_schema_name, require_postgres

from duroxide_cli.errors import ConfigError, ProviderError
from duroxide_cli.history import OrchestrationStarted
from duroxide_cli.providers._postgres.database import application_name
from duroxide_cli.providers._postgres.migrations import load_migrations
from duroxide_cli.providers.postgres import PostgresProvider

from .builders import create, event_message, fetch_all, now_ms, turn
from .conftest import Store

STARTED = OrchestrationStarted("Flow", "1.0.0")


@pytest_asyncio.fixture
async def store(tmp_path):
    """The suite's PostgreSQL store alone (this module's tests are not for the other stores)."""
    opened = Store("postgres", tmp_path)
    yield opened
    await opened.close()


@pytest_asyncio.fixture
async def schema():
    await require_postgres()
    name = new_schema_name()
    yield name
    await drop_schema(name)


async def _query(sql: str, *args):
    conn = await asyncpg.connect(PG_CONNECT_URL)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_the_schema_records_every_migration_once(schema):
    for _ in range(2):
        provider = await PostgresProvider.connect(PG_CONNECT_URL, schema=schema)
        await provider.close()
    rows = await _query(f'SELECT version FROM "{schema}".schema_version ORDER BY version')
    assert [row["version"] for row in rows] == [m.version for m in load_migrations()]


async def test_providers_opening_a_new_schema_at_once_all_work(schema):
    providers = await asyncio.gather(*(PostgresProvider.connect(PG_CONNECT_URL, schema=schema) for _ in range(4)))
    try:
        for index, provider in enumerate(providers):
            await create(provider, f"i-{index}")
        assert len(await fetch_all(providers[0])) == 4
    finally:
        for provider in providers:
            await provider.close()


async def test_a_schema_made_by_a_newer_duroxide_is_refused(schema):
    provider = await PostgresProvider.connect(PG_CONNECT_URL, schema=schema)
    await provider.close()
    await _query(f"INSERT INTO \"{schema}\".schema_version (version, name) VALUES (999, '999_future.sql')")
    with pytest.raises(ConfigError, match="newer duroxide") as raised:
        await PostgresProvider.connect(PG_CONNECT_URL, schema=schema)
    assert "999" in str(raised.value)


async def test_an_unreachable_server_is_a_retryable_provider_error():
    with pytest.raises(ProviderError) as raised:
        await PostgresProvider.connect("postgresql://postgres@127.0.0.1:1/none", schema="x")
    assert raised.value.retryable


async def test_a_dropped_connection_is_retryable_and_the_next_call_reconnects(schema):
    provider = await PostgresProvider.connect(PG_CONNECT_URL, schema=schema)
    try:
        await create(provider, "a")
        await _query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            application_name(schema),
        )
        errors = []
        for _ in range(5):
            try:
                record = await provider.get_instance("a")
                break
            except ProviderError as error:
                errors.append(error)
        assert record is not None and record.instance_id == "a"
        assert all(error.retryable for error in errors)
    finally:
        await provider.close()


async def test_concurrent_fetches_never_take_the_same_instance(provider, store):
    others = [await store.open() for _ in range(3)]
    for index in range(40):
        await create(provider, f"i-{index:02}")
    fetched = await asyncio.gather(*(p.fetch_orchestration_work(6, 30_000, "test", {}) for p in [provider, *others] * 3))
    ids = [work.instance.instance_id for batch in fetched for work in batch]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 20


async def test_a_write_by_another_process_wakes_a_waiting_dispatcher(provider, other_process):
    await provider.wait_for_work("orchestrator", 0)
    waiter = asyncio.create_task(provider.wait_for_work("orchestrator", 20_000))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await create(other_process, "a")
    await asyncio.wait_for(waiter, 5)
    assert time.monotonic() - started < 5


async def test_a_timer_written_by_another_process_wakes_the_wait_when_due(provider, other_process):
    await create(other_process, "a")
    [work] = (await fetch_all(other_process)).values()
    await other_process.commit_turns([turn(work, STARTED)])
    await other_process.enqueue_message(event_message("a", "timer"), visible_at_ms=now_ms() + 400)
    started = time.monotonic()
    while "a" not in await fetch_all(provider):
        await provider.wait_for_work("orchestrator", 20_000)
        assert time.monotonic() - started < 5, "the timer did not wake the wait"


