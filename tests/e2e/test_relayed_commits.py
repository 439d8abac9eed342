"""A chain step on the SQLite store, when nothing else waits for the store, has its commit sent
from the turn thread straight to the database thread. The turn timeout still times the turn
only -- not the commit, which may wait for another process's write lock -- and the step is
acted on only once its commit is durable."""

from __future__ import annotations

import asyncio
import sqlite3

from duroxide_cli import Client, Registry, Runtime, RuntimeOptions
from duroxide_cli.providers.sqlite import SqliteProvider


def _chain_app(on_step) -> Registry:
    app = Registry()

    @app.activity("Step")
    async def step(ctx, i):
        on_step(i)
        return i

    @app.orchestration("Chain")
    def chain(ctx, n):
        total = 0
        for i in range(n):
            total += yield ctx.schedule_activity("Step", i)
        return total

    return app


async def test_a_step_whose_commit_waits_for_another_writer_past_the_turn_timeout_is_not_failed(tmp_path):
    path = tmp_path / "chain.db"
    store = await SqliteProvider.open(path)
    held: list[sqlite3.Connection] = []

    def on_step(i: int) -> None:
        if i == 3:  # as another process would: hold the write lock through the next step's commit
            other = sqlite3.connect(path, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            held.append(other)
            asyncio.get_running_loop().call_later(0.8, lambda: (other.execute("COMMIT"), other.close()))

    runtime = Runtime(store, registry=_chain_app(on_step), options=RuntimeOptions(turn_timeout_ms=300, poll_interval_ms=20))
    await runtime.start()
    try:
        client = Client(store)
        await client.start_orchestration("c-1", "Chain", 8)
        state = await client.wait_for_orchestration("c-1", timeout_ms=15000)
    finally:
        await runtime.shutdown(timeout_ms=2000)
        await store.close()
    assert held, "the lock was taken"
    assert (state.status, state.output) == ("Completed", sum(range(8)))
