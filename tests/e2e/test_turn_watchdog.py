"""The turn watchdog: an orchestration that never yields fails, and its history keeps its shape."""

from __future__ import annotations

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
