"""A finished instance stays as it ended: no work left queued for it, no late message changes it."""

from __future__ import annotations

import asyncio


def _flows(env):
    @env.app.orchestration("RaceTimer")
    def race_timer(ctx):
        index, value = yield ctx.race(ctx.schedule_timer(60_000), ctx.wait_for_event("go"))
        return [index, value]

    @env.app.orchestration("Loop")
    def loop(ctx, n):
        yield ctx.race(ctx.schedule_timer(60_000), ctx.wait_for_event("next"))
        if n < 2:
            yield ctx.continue_as_new(n + 1)
        return n


async def _wait_for_kind(env, instance_id: str, kind: str, count: int = 1) -> None:
    for _ in range(500):
        if (await env.kinds(instance_id)).count(kind) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{instance_id} never recorded {kind}: {await env.kinds(instance_id)}")


async def test_a_timer_that_lost_a_race_is_not_left_queued(env):
    _flows(env)
    async with env.runtime():
        await env.client.start_orchestration("r", "RaceTimer")
        await _wait_for_kind(env, "r", "EventSubscribed")
        await env.client.raise_event("r", "go", 7)
        state = await env.client.wait_for_orchestration("r")
        assert (state.status, state.output) == ("Completed", [1, 7])
        depths = await env.client.get_queue_depths()
    assert (depths.orchestrator, depths.timer, depths.worker) == (0, 0, 0)


async def test_continue_as_new_leaves_no_timer_of_the_old_execution(env):
    _flows(env)
    async with env.runtime():
        await env.client.start_orchestration("l", "Loop", 0)
        for execution in (1, 2):
            await _wait_for_kind(env, "l", "EventSubscribed")
            await env.client.raise_event("l", "next")
            for _ in range(500):
                state = await env.client.get_status("l")
                if state is not None and state.execution_id > execution:
                    break
                await asyncio.sleep(0.01)
        await _wait_for_kind(env, "l", "TimerCreated")
        assert (await env.client.get_queue_depths()).timer == 1, "only the current execution's timer is queued"
        await env.client.raise_event("l", "next")
        state = await env.client.wait_for_orchestration("l")
        assert (state.status, state.output) == ("Completed", 2)
        assert (await env.client.get_queue_depths()).timer == 0


async def test_a_message_for_a_finished_instance_is_dropped_without_touching_it(env):
    _flows(env)
    async with env.runtime():
        await env.client.start_orchestration("r", "RaceTimer")
        await _wait_for_kind(env, "r", "EventSubscribed")
        await env.client.raise_event("r", "go", 1)
        finished = await env.client.wait_for_orchestration("r")
        await asyncio.sleep(0.05)  # a later millisecond, so a write to the row would show
        await env.client.raise_event("r", "go", 2)
        for _ in range(500):
            if (await env.client.get_queue_depths()).orchestrator == 0:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the late event was never dropped")
    after = await env.client.get_status("r")
    assert after == finished
    assert (await env.kinds("r")).count("EventRaised") == 1
