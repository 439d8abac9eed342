"""Activities that stay in the process: a turn's commit leases what it schedules to this runtime,
which runs it without an activity fetch, and the result goes back with the turn it unblocks
(one commit per step) -- within ``activity_concurrency``, with events, cancels and shutdown as
before. Calls are counted by a wrapper around the real store."""

from __future__ import annotations

import asyncio
import collections

from duroxide_cli import Runtime


class _CountingStore:
    """A real store that counts its calls and the activity work its fetches return."""

    def __init__(self, inner):
        self._inner = inner
        self.calls: collections.Counter[str] = collections.Counter()
        self.fetched_activities = 0

    def __getattr__(self, name):
        real = getattr(self._inner, name)
        if name.startswith("_") or not callable(real):
            return real

        async def counted(*args, **kwargs):
            self.calls[name] += 1
            result = await real(*args, **kwargs)
            if name == "fetch_activity_work":
                self.fetched_activities += len(result)
            return result

        return counted


async def _run_on(env, provider, instance_id, name, input=None, **overrides):
    runtime = Runtime(provider, registry=env.app, options=env.options(**overrides))
    await runtime.start()
    try:
        await env.client.start_orchestration(instance_id, name, input)
        return await env.client.wait_for_orchestration(instance_id, timeout_ms=15000)
    finally:
        await runtime.shutdown(timeout_ms=2000)


async def test_a_chain_runs_its_activities_without_fetching_them_and_one_commit_a_step(env):
    @env.app.activity("Add")
    async def add(ctx, x):
        return x + 1

    @env.app.orchestration("Chain")
    def chain(ctx, n):
        total = 0
        for _ in range(n):
            total = yield ctx.schedule_activity("Add", total)
        return total

    store = _CountingStore(env.provider)
    state = await _run_on(env, store, "c-1", "Chain", 20)
    assert state.status == "Completed" and state.output == 20
    assert store.fetched_activities == 0, "every activity was leased by the commit that scheduled it"
    assert store.calls["complete_activities"] == 0, "every result went back with the turn it unblocked"
    assert store.calls["commit_turns_leasing"] == 21  # the first turn, then one per step
    # with the generator cached, each step's commit takes the instance's lock itself
    assert store.calls["lock_instance"] == (0 if env.cache_size else 20)
    events = await env.client.read_history("c-1")
    assert [e.event_id for e in events] == list(range(1, len(events) + 1))
    assert [e.kind for e in events].count("ActivityCompleted") == 20


async def test_the_turn_after_a_local_result_is_a_cache_hit(env):
    @env.app.activity("Echo")
    async def echo(ctx, x):
        return x

    @env.app.orchestration("Three")
    def three(ctx):
        for i in range(3):
            yield ctx.schedule_activity("Echo", i)
        return "done"

    runtime = Runtime(env.provider, registry=env.app, options=env.options())
    await runtime.start()
    try:
        await env.client.start_orchestration("h-1", "Three")
        state = await env.client.wait_for_orchestration("h-1", timeout_ms=15000)
        assert state.output == "done"
        if env.cache_size:
            assert (runtime.cache.hits, runtime.cache.misses) == (3, 1)
    finally:
        await runtime.shutdown(timeout_ms=2000)


async def test_leasing_on_commit_keeps_within_activity_concurrency(env):
    running, most = 0, 0

    @env.app.activity("Slow")
    async def slow(ctx, i):
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.05)
        running -= 1
        return i

    @env.app.orchestration("Fan")
    def fan(ctx):
        return (yield ctx.all([ctx.schedule_activity("Slow", i) for i in range(6)]))

    store = _CountingStore(env.provider)
    state = await _run_on(env, store, "f-1", "Fan", activity_concurrency=2)
    assert state.output == list(range(6))
    assert most <= 2
    assert store.fetched_activities == 4, "two were leased by the commit, the others fetched"


async def test_an_event_that_arrives_while_a_local_activity_runs_is_delivered_with_its_result(env):
    started = asyncio.Event()
    release = asyncio.Event()

    @env.app.activity("Wait")
    async def wait(ctx, _):
        started.set()
        await release.wait()
        return "worked"

    @env.app.orchestration("Both")
    def both(ctx):
        worked = yield ctx.schedule_activity("Wait")
        said = yield ctx.wait_for_event("say")
        return [worked, said]

    async with env.runtime():
        await env.client.start_orchestration("e-1", "Both")
        await started.wait()
        await env.client.raise_event("e-1", "say", "hello")
        await asyncio.sleep(0.1)  # the event's own turn, or none: either way it is buffered
        release.set()
        state = await env.client.wait_for_orchestration("e-1", timeout_ms=15000)
    assert state.output == ["worked", "hello"]


async def test_a_cancelled_instance_tells_its_local_activity(env):
    cancelled = asyncio.Event()
    started = asyncio.Event()

    @env.app.activity("Long")
    async def long(ctx, _):
        started.set()
        for _ in range(300):
            if ctx.is_cancelled():
                cancelled.set()
                return "stopped"
            await asyncio.sleep(0.01)
        return "finished"

    @env.app.orchestration("Cancellable")
    def cancellable(ctx):
        return (yield ctx.schedule_activity("Long"))

    async with env.runtime():
        await env.client.start_orchestration("x-1", "Cancellable")
        await started.wait()
        await env.client.cancel_instance("x-1", reason="enough")
        state = await env.client.wait_for_orchestration("x-1", timeout_ms=15000)
        await asyncio.wait_for(cancelled.wait(), 5)
    assert state.status == "Cancelled"


async def test_shutdown_gives_a_local_activity_back_to_another_runtime(env):
    started = asyncio.Event()
    runs = []

    @env.app.activity("Slow")
    async def slow(ctx, _):
        runs.append(ctx.worker_id)
        started.set()
        await asyncio.sleep(0.2 if len(runs) > 1 else 30)
        return len(runs)

    @env.app.orchestration("UsesSlow")
    def uses_slow(ctx):
        return (yield ctx.schedule_activity("Slow"))

    first = Runtime(env.provider, registry=env.app, options=env.options(worker_id="first"))
    await first.start()
    await env.client.start_orchestration("s-1", "UsesSlow")
    await started.wait()
    await first.shutdown(timeout_ms=100)
    async with env.runtime(worker_id="second"):
        state = await env.client.wait_for_orchestration("s-1", timeout_ms=15000)
    assert state.output == 2
    assert runs == ["first", "second"]
