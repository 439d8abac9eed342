"""Whatever orchestration code raises stays with its instance: the instance fails, the runtime goes on."""

from __future__ import annotations

import asyncio
import sys

from duroxide_cli.model.options import MAX_DELAY_MS


async def test_sys_exit_in_orchestration_code_fails_that_instance_only(env):
    @env.app.activity("Echo")
    async def echo(ctx, value):
        return value

    @env.app.orchestration("Exits")
    def exits(ctx):
        yield ctx.schedule_activity("Echo", 1)
        sys.exit(3)

    @env.app.orchestration("Fine")
    def fine(ctx):
        yield ctx.schedule_timer(200)
        return (yield ctx.schedule_activity("Echo", "ok"))

    async with env.runtime():
        await env.client.start_orchestration("fine", "Fine")
        await env.client.start_orchestration("exits", "Exits")
        failed = await env.client.wait_for_orchestration("exits", timeout_ms=10000)
        done = await env.client.wait_for_orchestration("fine", timeout_ms=10000)
    assert failed.status == "Failed"
    assert failed.failure.error_type == "SystemExit"
    assert failed.error == "SystemExit: sys.exit(3) was called"
    assert done.status == "Completed" and done.output == "ok"


async def test_a_base_exception_raised_by_orchestration_code_fails_the_instance(env):
    @env.app.orchestration("Cancels")
    def cancels(ctx):
        yield ctx.schedule_timer(1)
        raise asyncio.CancelledError("the code gave up")

    state = await env.run("Cancels")
    assert state.status == "Failed"
    assert state.error == "CancelledError: the code gave up"


async def test_a_timer_longer_than_the_maximum_fails_at_the_call(env):
    @env.app.orchestration("Forever")
    def forever(ctx):
        yield ctx.schedule_timer(sys.maxsize)

    state = await env.run("Forever", timeout_ms=5000)
    assert state.status == "Failed"
    assert state.failure.error_type == "ValueError"
    assert f"from 0 to {MAX_DELAY_MS} (100 years), got {sys.maxsize}" in state.error
    assert (await env.client.get_queue_depths()).timer == 0
