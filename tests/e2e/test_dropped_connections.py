"""A shared store's connections dropped again and again mid-run (what a server restart or a
network blip does to a runtime): every instance still completes, no activity result is lost
or recorded twice. PostgreSQL only: it is the store with connections to drop."""

from __future__ import annotations

import asyncio
import collections

import asyncpg
import pytest_asyncio
from postgres_support import PG_CONNECT_URL, drop_schema, new_schema_name, require_postgres

from duroxide_cli import Client, Registry, Runtime, RuntimeOptions
from duroxide_cli.providers._postgres.database import application_name
from duroxide_cli.providers.postgres import PostgresProvider

INSTANCES = 12
STEPS = 4


@pytest_asyncio.fixture
async def schema():
    await require_postgres()
    name = new_schema_name()
    yield name
    await drop_schema(name)


async def _drop_connections_repeatedly(schema: str, stop: asyncio.Event) -> int:
    """Terminate every connection of the store's pool (and its listener) every 200 ms."""
    killer = await asyncpg.connect(PG_CONNECT_URL)
    drops = 0
    try:
        while not stop.is_set():
            killed = await killer.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE $1",
                f"{application_name(schema)}%",
            )
            drops += killed
            try:
                await asyncio.wait_for(stop.wait(), 0.2)
            except asyncio.TimeoutError:
                pass
    finally:
        await killer.close()
    return drops


async def test_dropped_connections_mid_run_lose_and_duplicate_nothing(schema):
    app = Registry()
    runs: collections.Counter[tuple[str, int]] = collections.Counter()

    @app.activity("Step")
    async def step(ctx, n):
        runs[(ctx.instance_id, n)] += 1
        await asyncio.sleep(0.02)
        return n * 10

    @app.orchestration("Steps")
    def steps(ctx):
        total = 0
        for n in range(STEPS):
            total += yield ctx.schedule_activity("Step", n)
            yield ctx.schedule_timer(10)
        return total

    provider = await PostgresProvider.connect(PG_CONNECT_URL, schema=schema)
    options = RuntimeOptions(poll_interval_ms=50, orchestrator_lock_timeout_ms=2000, worker_lock_timeout_ms=2000)
    stop = asyncio.Event()
    try:
        async with Runtime(provider, registry=app, options=options):
            client = Client(provider)
            for index in range(INSTANCES):
                await client.start_orchestration(f"s-{index}", "Steps")
            dropping = asyncio.create_task(_drop_connections_repeatedly(schema, stop))
            await asyncio.sleep(1.5)
            stop.set()
            drops = await dropping
            states = [await client.wait_for_orchestration(f"s-{i}", timeout_ms=30_000) for i in range(INSTANCES)]
            histories = [await client.read_history(f"s-{i}") for i in range(INSTANCES)]
    finally:
        await provider.close()
    assert drops > 0
    assert [s.status for s in states] == ["Completed"] * INSTANCES
    assert all(s.output == sum(n * 10 for n in range(STEPS)) for s in states)
    for history in histories:
        kinds = [event.kind for event in history]
        assert kinds.count("ActivityCompleted") == STEPS
        assert kinds.count("TimerFired") == STEPS
        assert [event.event_id for event in history] == list(range(1, len(history) + 1))
