"""Restarts in the middle of durable waits, and poison messages."""

from __future__ import annotations

import asyncio


async def _until_kind(env, instance_id, kind, timeout=10.0):
    for _ in range(int(timeout / 0.02)):
        history = await env.provider.read_history(instance_id)
        if any(e.kind == kind for e in history):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{kind} never recorded")


async def test_restart_during_a_retry_back_off_loses_nothing(env):
    attempts = []

    @env.app.activity("Flaky")
    async def flaky(ctx, _):
        attempts.append(ctx.attempt)
        if ctx.attempt == 1:
            raise ConnectionError("down")
        return "up"

    @env.app.orchestration("Retry")
    def retry(ctx):
        return (yield ctx.schedule_activity_with_retry(
            "Flaky", None, {"max_attempts": 3, "backoff": "fixed", "initial_delay_ms": 600}))

    async with env.runtime():
        await env.client.start_orchestration("r-1", "Retry")
        await _until_kind(env, "r-1", "TimerCreated")  # attempt 1 failed, the back-off is running
    assert (await env.client.get_status("r-1")).status == "Running"
    async with env.runtime():
        state = await env.client.wait_for_orchestration("r-1", timeout_ms=10000)
    assert state.output == "up"
    assert attempts == [1, 2]


async def test_restart_during_a_timer_fires_it_after_the_restart(env):
    @env.app.orchestration("Nap")
    def nap(ctx):
        yield ctx.schedule_timer(500)
        return "rested"

    async with env.runtime():
        await env.client.start_orchestration("n-1", "Nap")
        await _until_kind(env, "n-1", "TimerCreated")
    async with env.runtime():
        state = await env.client.wait_for_orchestration("n-1", timeout_ms=10000)
    assert state.output == "rested"
    assert (await env.kinds("n-1")).count("TimerFired") == 1


async def test_activity_nobody_can_run_becomes_poison_and_fails_the_instance(env):
    @env.app.orchestration("NeedsMissing")
    def needs_missing(ctx):
        yield ctx.schedule_activity("NotRegisteredAnywhere")

    state = await env.run("NeedsMissing", max_delivery_attempts=2, timeout_ms=20000)
    assert state.status == "Failed"
    assert "PoisonMessageError" in state.error
    assert "NotRegisteredAnywhere" in state.error


async def test_orchestration_nobody_can_run_becomes_poison(env):
    state = await env.run("NotRegisteredEither", max_delivery_attempts=2, timeout_ms=20000)
    assert state.status == "Failed"
    assert state.failure.error_type == "PoisonMessageError"
