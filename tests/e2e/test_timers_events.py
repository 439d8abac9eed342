"""Durable timers and external events."""

from __future__ import annotations

import asyncio


async def test_timer_fires_after_its_delay(env):
    @env.app.orchestration("Sleep")
    def sleep(ctx):
        start = yield ctx.utc_now()
        yield ctx.schedule_timer(200)
        end = yield ctx.utc_now()
        return end - start

    state = await env.run("Sleep")
    assert state.status == "Completed"
    assert state.output >= 190


async def test_event_raised_after_the_wait_is_delivered(env):
    @env.app.orchestration("Approval")
    def approval(ctx):
        return (yield ctx.wait_for_event("approve"))

    async with env.runtime():
        await env.client.start_orchestration("a-1", "Approval")
        await asyncio.sleep(0.2)
        assert (await env.client.get_status("a-1")).status == "Running"
        await env.client.raise_event("a-1", "approve", {"by": "ann"})
        state = await env.client.wait_for_orchestration("a-1", timeout_ms=10000)
    assert state.output == {"by": "ann"}


async def test_event_raised_before_wait_is_delivered(env):
    @env.app.orchestration("Late")
    def late(ctx):
        yield ctx.schedule_timer(300)
        return (yield ctx.wait_for_event("go"))

    async with env.runtime():
        await env.client.start_orchestration("l-1", "Late")
        await env.client.raise_event("l-1", "go", 7)
        state = await env.client.wait_for_orchestration("l-1", timeout_ms=10000)
    assert state.output == 7


async def test_events_are_delivered_in_arrival_order(env):
    @env.app.orchestration("Collect")
    def collect(ctx):
        yield ctx.schedule_timer(200)
        got = []
        for _ in range(3):
            got.append((yield ctx.wait_for_event("item")))
        return got

    async with env.runtime():
        await env.client.start_orchestration("c-1", "Collect")
        for i in range(3):
            await env.client.raise_event("c-1", "item", i)
        state = await env.client.wait_for_orchestration("c-1", timeout_ms=10000)
    assert state.output == [0, 1, 2]


async def test_event_raised_before_the_runtime_started_is_kept(env):
    @env.app.orchestration("Early")
    def early(ctx):
        return (yield ctx.wait_for_event("go"))

    await env.client.start_orchestration("e-1", "Early")
    await env.client.raise_event("e-1", "go", "first")
    async with env.runtime():
        state = await env.client.wait_for_orchestration("e-1", timeout_ms=10000)
    assert state.output == "first"


async def test_utc_now_and_new_guid_are_recorded(env):
    @env.app.orchestration("Stamp")
    def stamp(ctx):
        now = yield ctx.utc_now()
        guid = yield ctx.new_guid()
        yield ctx.schedule_timer(10)
        again = yield ctx.utc_now()
        return [now, guid, again >= now]

    state = await env.run("Stamp")
    now, guid, ordered = state.output
    assert isinstance(now, int) and ordered
    assert len(guid) == 36
    calls = [e.to_json() for e in await env.client.read_history("i-1") if e.kind == "SystemCall"]
    assert calls[0]["value"] == now and calls[1]["value"] == guid


async def test_custom_status_is_visible_while_running(env):
    @env.app.orchestration("Progress")
    def progress(ctx):
        ctx.set_custom_status({"stage": "waiting"})
        yield ctx.wait_for_event("go")
        ctx.set_custom_status({"stage": "done"})
        return "ok"

    async with env.runtime():
        await env.client.start_orchestration("p-1", "Progress")
        for _ in range(200):
            state = await env.client.get_status("p-1")
            if state.custom_status:
                break
            await asyncio.sleep(0.02)
        assert state.status == "Running"
        assert state.custom_status == {"stage": "waiting"}
        await env.client.raise_event("p-1", "go")
        state = await env.client.wait_for_orchestration("p-1", timeout_ms=10000)
    assert state.custom_status == {"stage": "done"}
