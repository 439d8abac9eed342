"""Events carried over by continue_as_new keep their place ahead of events raised meanwhile."""

from __future__ import annotations


async def test_a_burst_of_events_is_taken_in_arrival_order_one_execution_each(env):
    @env.app.activity("Record")
    async def record(ctx, value):
        return value

    @env.app.orchestration("Consume")
    def consume(ctx, seen):
        value = yield ctx.wait_for_event("item")
        yield ctx.schedule_activity("Record", value)
        seen = seen + [value]
        if len(seen) == 60:
            return seen
        yield ctx.continue_as_new(seen)

    async with env.runtime():
        await env.client.start_orchestration("c-1", "Consume", [])
        for i in range(60):
            await env.client.raise_event("c-1", "item", i)
        state = await env.client.wait_for_orchestration("c-1", timeout_ms=30000)
    assert state.status == "Completed", state.error
    assert state.output == list(range(60))
