"""An id started again after its instance was force-deleted belongs to the new instance only."""

from __future__ import annotations

import asyncio
import logging

import pytest


def _flows(env):
    @env.app.activity("Slow")
    async def slow(ctx, x):
        await asyncio.sleep(2 if x == "old" else 0.01)
        return x

    @env.app.orchestration("WaitEv")
    def wait_ev(ctx, input):
        v = yield ctx.wait_for_event("go")
        return [input, v]

    @env.app.orchestration("Sleeps")
    def sleeps(ctx, input):
        yield ctx.schedule_timer(60_000 if input == "old" else 1)
        return input

    @env.app.orchestration("Works")
    def works(ctx, input):
        v = yield ctx.schedule_activity("Slow", input)
        return v


async def _wait_for_kind(env, instance_id: str, kind: str) -> None:
    for _ in range(500):
        if kind in await env.kinds(instance_id):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{instance_id} never recorded {kind}: {await env.kinds(instance_id)}")


async def test_a_deleted_event_wait_does_not_answer_for_the_new_instance(env, caplog):
    _flows(env)
    caplog.set_level(logging.DEBUG, logger="duroxide")
    async with env.runtime():
        await env.client.start_orchestration("x", "WaitEv", "old")
        await _wait_for_kind(env, "x", "EventSubscribed")
        await env.client.delete_instance("x", force=True)

        await env.client.start_orchestration("x", "WaitEv", "new")
        await _wait_for_kind(env, "x", "EventSubscribed")
        await env.client.raise_event("x", "go", 1)
        state = await env.client.wait_for_orchestration("x", timeout_ms=10_000)
    assert (state.status, state.output) == ("Completed", ["new", 1])
    assert (await env.kinds("x"))[0] == "OrchestrationStarted"
    assert "duplicate start" not in caplog.text


@pytest.mark.parametrize(
    "name, wait_for",
    [("Sleeps", "TimerCreated"), ("Works", "ActivityScheduled")],
    ids=["timer", "activity"],
)
async def test_a_deleted_instance_with_work_in_flight_does_not_stall_the_new_one(env, name, wait_for):
    _flows(env)
    async with env.runtime():
        await env.client.start_orchestration("x", name, "old")
        await _wait_for_kind(env, "x", wait_for)
        await env.client.delete_instance("x", force=True)

        await env.client.start_orchestration("x", name, "new")
        state = await env.client.wait_for_orchestration("x", timeout_ms=10_000)
    assert (state.status, state.output) == ("Completed", "new")
    assert (await env.kinds("x"))[0] == "OrchestrationStarted"
