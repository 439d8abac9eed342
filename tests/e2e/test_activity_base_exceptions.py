"""BaseExceptions raised by activity code fail that activity's attempt, and nothing else.

``sys.exit()`` or a ``CancelledError`` raised by an activity's own code must not stop the
process, nor be mistaken for the runtime cancelling the activity at shutdown.
"""

from __future__ import annotations

import asyncio
import sys

import pytest

from duroxide_cli import ActivityError, RetryPolicy


def _catching(env, activity: str) -> None:
    """Register ``Catch<activity>``: the failure's fields, or the result."""

    @env.app.orchestration(f"Catch{activity}")
    def catch(ctx):
        try:
            return (yield ctx.schedule_activity(activity))
        except ActivityError as error:
            return {"error_type": error.error_type, "message": error.message}


async def test_sys_exit_in_a_sync_activity_fails_the_activity_and_the_runtime_serves_other_instances(env):
    @env.app.activity("Exits")
    def exits(ctx):
        sys.exit(3)

    @env.app.activity("Echo")
    def echo(ctx, value):
        return value

    @env.app.orchestration("UsesEcho")
    def uses_echo(ctx, value):
        return (yield ctx.schedule_activity("Echo", value))

    _catching(env, "Exits")
    async with env.runtime():
        await env.client.start_orchestration("exits", "CatchExits")
        exited = await env.client.wait_for_orchestration("exits", timeout_ms=10_000)
        await env.client.start_orchestration("after", "UsesEcho", "still serving")
        after = await env.client.wait_for_orchestration("after", timeout_ms=10_000)
    assert exited.output["error_type"] == "SystemExit" and "3" in exited.output["message"]
    assert after.status == "Completed" and after.output == "still serving"


async def test_sys_exit_in_an_async_activity_fails_the_activity(env):
    @env.app.activity("ExitsAsync")
    async def exits_async(ctx):
        sys.exit()

    _catching(env, "ExitsAsync")
    state = await env.run("CatchExitsAsync")
    assert state.output["error_type"] == "SystemExit"
    assert "sys.exit" in state.output["message"], "an empty exit message is replaced by one that says what happened"


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_cancelled_error_raised_by_activity_code_fails_the_attempt_once(env, kind):
    runs = []

    async def cancels_async(ctx):
        runs.append(ctx.attempt)
        raise asyncio.CancelledError("the activity gave up on its own")

    def cancels_sync(ctx):
        runs.append(ctx.attempt)
        raise asyncio.CancelledError("the activity gave up on its own")

    env.app.register_activity("Cancels", cancels_async if kind == "async" else cancels_sync)
    _catching(env, "Cancels")
    state = await env.run("CatchCancels", worker_lock_timeout_ms=300, max_delivery_attempts=2)
    assert state.output == {"error_type": "CancelledError", "message": "the activity gave up on its own"}
    assert runs == [1], "reported at once, not run again after each lock expiry"


async def test_other_base_exceptions_in_activities_are_retried_like_any_failure(env):
    class Abort(BaseException):
        pass

    runs = []

    @env.app.activity("Aborts")
    async def aborts(ctx):
        runs.append(ctx.attempt)
        raise Abort("stop here")

    @env.app.orchestration("RetriesAborts")
    def retries_aborts(ctx):
        retry = RetryPolicy(max_attempts=2, initial_delay_ms=10)
        try:
            yield ctx.schedule_activity_with_retry("Aborts", None, retry)
        except ActivityError as error:
            return [error.error_type, error.message]

    state = await env.run("RetriesAborts")
    assert state.output == ["Abort", "stop here"]
    assert runs == [1, 2]


async def test_shutdown_still_abandons_a_running_async_activity_for_another_process(env):
    started = asyncio.Event()
    runs = []

    @env.app.activity("Long")
    async def long(ctx):
        runs.append(ctx.attempt)
        if len(runs) == 1:
            started.set()
            await asyncio.sleep(60)
        return "finished elsewhere"

    @env.app.orchestration("UsesLong")
    def uses_long(ctx):
        return (yield ctx.schedule_activity("Long"))

    async with env.runtime():
        await env.client.start_orchestration("long", "UsesLong")
        await asyncio.wait_for(started.wait(), 10)
    # the shutdown cancelled the activity: its work is back in the queue, not failed
    assert (await env.client.get_status("long")).status == "Running"
    assert await env.kinds("long") == ["OrchestrationStarted", "ActivityScheduled"]
    async with env.runtime():
        state = await env.client.wait_for_orchestration("long", timeout_ms=10_000)
    assert state.output == "finished elsewhere"
    assert len(runs) == 2
