"""Store faults the runtime rides out: a failed commit, a failed lock renewal, a blip while
storing a result -- without waiting out a lock or running an activity twice.

Faults come from a wrapper around the real store, not from a mock."""

from __future__ import annotations

import asyncio
import contextlib
import gc

from duroxide_cli import ProviderError, Runtime


class _FailingFirstCalls:
    """A real provider whose ``method`` raises a retryable ProviderError on its first ``times``
    calls after the first ``after`` (which go through)."""

    def __init__(self, inner, method: str, times: int = 1, after: int = 0):
        self._inner, self._method, self._times, self._after = inner, method, times, after
        self.failures = 0
        self._calls = 0

    def __getattr__(self, name):
        real = getattr(self._inner, name)
        if name != self._method:
            return real

        async def failing(*args, **kwargs):
            self._calls += 1
            if self._calls > self._after and self.failures < self._times:
                self.failures += 1
                raise ProviderError(name, "injected: database is locked", retryable=True)
            return await real(*args, **kwargs)

        return failing


@contextlib.asynccontextmanager
async def _runtime_on(env, provider, **overrides):
    runtime = Runtime(provider, registry=env.app, options=env.options(**overrides))
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.shutdown(timeout_ms=2000)


async def test_a_store_error_during_a_commit_retries_the_turn_without_waiting_out_the_lock(env):
    @env.app.orchestration("Short")
    def short(ctx):
        yield ctx.schedule_timer(1)
        return "done"

    faulty = _FailingFirstCalls(env.provider, "commit_turns_leasing")
    async with _runtime_on(env, faulty):  # the orchestrator lock lasts the default 30 s
        await env.client.start_orchestration("s-1", "Short")
        state = await env.client.wait_for_orchestration("s-1", timeout_ms=10000)
    assert faulty.failures == 1
    assert state.output == "done"


async def test_the_generator_of_a_turn_whose_commit_failed_is_closed(env):
    starts, closings = [], []

    @env.app.orchestration("Counted")
    def counted(ctx):
        starts.append(ctx.execution_id)
        try:
            yield ctx.schedule_timer(1)
        finally:
            closings.append(ctx.execution_id)
        return "done"

    faulty = _FailingFirstCalls(env.provider, "commit_turns_leasing")
    gc.disable()  # a leaked generator (a Replayer is a reference cycle) would otherwise close whenever gc runs
    try:
        async with _runtime_on(env, faulty, orchestrator_lock_timeout_ms=500):
            await env.client.start_orchestration("c-1", "Counted")
            state = await env.client.wait_for_orchestration("c-1", timeout_ms=10000)
        assert state.output == "done"
        assert len(closings) == len(starts)
    finally:
        gc.enable()


async def test_a_failed_lock_renewal_does_not_let_another_worker_run_the_activity_again(env):
    runs = []

    @env.app.activity("Slow")
    async def slow(ctx, _):
        runs.append(ctx.attempt)
        await asyncio.sleep(1.5)
        return "slept"

    @env.app.orchestration("UsesSlow")
    def uses_slow(ctx):
        return (yield ctx.schedule_activity("Slow"))

    faulty = _FailingFirstCalls(env.provider, "renew_activity_lock")
    async with _runtime_on(env, faulty, worker_lock_timeout_ms=300):
        await env.client.start_orchestration("r-1", "UsesSlow")
        state = await env.client.wait_for_orchestration("r-1", timeout_ms=10000)
    assert state.output == "slept"
    assert faulty.failures == 1
    assert len(runs) == 1


async def test_a_store_blip_while_storing_a_result_does_not_run_the_activity_again(env):
    runs = []

    @env.app.activity("Once")
    async def once(ctx, _):
        runs.append(ctx.attempt)
        return "stored"

    @env.app.orchestration("UsesOnce")
    def uses_once(ctx):
        return (yield ctx.schedule_activity("Once"))

    # the turn that would carry the result can be had neither by locking the instance nor (with the
    # generator cached) by a commit taking the lock itself, so the result is stored alone
    unlockable = _FailingFirstCalls(env.provider, "lock_instance")
    uncommittable = _FailingFirstCalls(unlockable, "commit_turns_leasing", after=1, times=1 if env.cache_size else 0)
    faulty = _FailingFirstCalls(uncommittable, "complete_activities", times=2)
    async with _runtime_on(env, faulty, worker_lock_timeout_ms=30_000):
        await env.client.start_orchestration("o-1", "UsesOnce")
        state = await env.client.wait_for_orchestration("o-1", timeout_ms=10000)
    assert state.output == "stored"
    assert runs == [1]
    assert faulty.failures == 2
    assert (unlockable.failures, uncommittable.failures) == ((0, 1) if env.cache_size else (1, 0))


async def test_a_store_blip_while_committing_the_turn_that_carries_a_result_does_not_run_the_activity_again(env):
    runs = []

    @env.app.activity("Once")
    async def once(ctx, _):
        runs.append(ctx.attempt)
        return "stored"

    @env.app.orchestration("UsesOnce")
    def uses_once(ctx):
        return (yield ctx.schedule_activity("Once"))

    faulty = _FailingFirstCalls(env.provider, "commit_turns_leasing", after=1)  # the second turn: the result's
    async with _runtime_on(env, faulty, worker_lock_timeout_ms=30_000):
        await env.client.start_orchestration("o-1", "UsesOnce")
        state = await env.client.wait_for_orchestration("o-1", timeout_ms=10000)
    assert state.output == "stored"
    assert runs == [1]
    assert faulty.failures == 1
