"""The turn watchdog: an orchestration that never yields fails, and its history keeps its shape."""

from __future__ import annotations

import asyncio
import time


def _consecutive(history) -> bool:
    return [e.event_id for e in history] == list(range(1, len(history) + 1))


async def test_a_first_turn_that_never_yields_still_records_the_start(env):
    @env.app.orchestration("SpinAtStart")
    def spin_at_start(ctx):
        time.sleep(1.0)
        yield ctx.schedule_timer(1)

    state = await env.run("SpinAtStart", turn_timeout_ms=300)
    assert state.status == "Failed" and "did not yield for 300 ms" in state.error
    history = await env.client.read_history("i-1")
    assert [e.kind for e in history] == ["OrchestrationStarted", "OrchestrationFailed"]
    assert _consecutive(history)


async def test_a_later_turn_that_never_yields_leaves_no_gap_in_the_history(env):
    @env.app.activity("Echo")
    async def echo(ctx, value):
        return value

    @env.app.orchestration("SpinLater")
    def spin_later(ctx):
        yield ctx.schedule_activity("Echo", 1)
        time.sleep(1.0)
        yield ctx.schedule_timer(1)

    state = await env.run("SpinLater", turn_timeout_ms=300)
    assert state.status == "Failed" and "did not yield for 300 ms" in state.error
    history = await env.client.read_history("i-1")
    assert history[-1].kind == "OrchestrationFailed"
    assert _consecutive(history)


async def test_each_turn_is_timed_from_its_own_start(env):
    """A turn that starts after another and takes most of the timeout is not failed when the
    earlier turn's deadline passes; one that never yields is, in the same runtime."""

    @env.app.activity("Pause")
    async def pause(ctx, seconds):
        await asyncio.sleep(seconds)
        return seconds

    @env.app.orchestration("SlowButInTime")
    def slow_but_in_time(ctx):
        yield ctx.schedule_activity("Pause", 0.7)  # the first turn's deadline passes during the next
        time.sleep(0.5)
        return "done"

    @env.app.orchestration("Spin")
    def spin(ctx):
        yield ctx.schedule_activity("Pause", 0.2)
        time.sleep(2.5)
        return "never"

    async with env.runtime(turn_timeout_ms=1000):
        await env.client.start_orchestration("slow", "SlowButInTime")
        await env.client.start_orchestration("spin", "Spin")
        slow = await env.client.wait_for_orchestration("slow", timeout_ms=15000)
        spun = await env.client.wait_for_orchestration("spin", timeout_ms=15000)
    assert slow.status == "Completed" and slow.output == "done"
    assert spun.status == "Failed" and "did not yield for 1000 ms" in spun.error
