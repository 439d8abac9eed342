"""A store that fails a fraction of its calls: retryable failures are ridden out (every instance
completes, histories exact); a permanent one stops the runtime with that error instead of a
retry loop, and a runtime on the healthy store then finishes the work."""

from __future__ import annotations

import logging

from duroxide_cli import Client, ProviderError, Registry, Runtime, RuntimeOptions

from .checker import assert_histories_exact
from .flaky import FlakyProvider

app = Registry()


@app.activity("Double")
def double(ctx, x):
    return 2 * x


@app.orchestration("Mixed")
def mixed(ctx, n):
    first = yield ctx.schedule_activity("Double", n)
    rest = yield ctx.all([ctx.schedule_activity("Double", i) for i in range(3)])
    yield ctx.schedule_timer(10)
    return first + sum(rest)


OPTIONS = dict(poll_interval_ms=20, orchestrator_lock_timeout_ms=500, worker_lock_timeout_ms=500)


async def _start(client: Client, count: int) -> list[str]:
    ids = [f"flaky-{i}" for i in range(count)]
    for n, instance_id in enumerate(ids):
        await client.start_orchestration(instance_id, "Mixed", n)
    return ids


async def test_retryable_failures_are_ridden_out(fault_store, caplog):
    provider = await fault_store.open()
    client = Client(provider)
    flaky = FlakyProvider(provider, rate=0.2, seed=7)
    for cache_size in (0, 1000):  # replays from the store and cached generators alike
        ids = [f"flaky-{cache_size}-{n}" for n in range(10)]
        for n, instance_id in enumerate(ids):
            await client.start_orchestration(instance_id, "Mixed", n)
        runtime = Runtime(flaky, registry=app, options=RuntimeOptions(cache_size=cache_size, **OPTIONS))
        await runtime.start()
        try:
            states = [await client.wait_for_orchestration(i, timeout_ms=60_000) for i in ids]
        finally:
            await runtime.shutdown(timeout_ms=2000)
        assert runtime.failure is None
        assert [(s.status, s.output) for s in states] == [("Completed", 2 * n + 6) for n in range(len(ids))]
    assert flaky.failures > 20
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]  # no tracebacks
    await assert_histories_exact(provider)


async def test_a_permanent_failure_stops_the_runtime_and_a_healthy_store_finishes_the_work(fault_store):
    provider = await fault_store.open()
    client = Client(provider)
    ids = await _start(client, 8)
    flaky = FlakyProvider(provider, rate=0.1, seed=3, permanent_after=40)
    runtime = Runtime(flaky, registry=app, options=RuntimeOptions(**OPTIONS))
    await runtime.start()
    try:
        failure = await _within(runtime.wait_failed(), 20)
    finally:
        await runtime.shutdown(timeout_ms=1000)
    assert isinstance(failure, ProviderError) and not failure.retryable
    assert runtime.failure is failure
    calls_when_stopped = flaky.calls
    assert calls_when_stopped < 200  # it stopped, rather than retrying every few ms

    healthy = Runtime(provider, registry=app, options=RuntimeOptions(**OPTIONS))
    await healthy.start()
    try:
        states = [await client.wait_for_orchestration(i, timeout_ms=60_000) for i in ids]
    finally:
        await healthy.shutdown(timeout_ms=2000)
    assert [(s.status, s.output) for s in states] == [("Completed", 2 * n + 6) for n in range(len(ids))]
    await assert_histories_exact(provider)


async def _within(awaitable, seconds: float):
    import asyncio

    return await asyncio.wait_for(awaitable, seconds)
