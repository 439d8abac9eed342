"""A NUL character ("\\x00") cannot be stored (PostgreSQL text and jsonb refuse it): it is refused
where it enters, as a typed error for that one call, and never fails the other calls made at the
same moment (on PostgreSQL concurrent starts and commits share one statement)."""

from __future__ import annotations

import asyncio

import pytest


def _doubler(env) -> None:
    @env.app.orchestration("Double")
    def double(ctx, x):
        yield ctx.utc_now()
        return x * 2


async def test_a_burst_of_starts_with_one_nul_id_and_one_nul_input_fails_only_those_two(env):
    _doubler(env)
    good = [f"ok-{n}" for n in range(20)]

    async def start(instance_id, value):
        await env.client.start_orchestration(instance_id, "Double", value)

    calls = [start(i, n) for n, i in enumerate(good)]
    calls.insert(7, start("n\x00a", 1))
    calls.insert(13, start("bad-input", {"text": "a\x00b"}))
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(results[7], ValueError) and "NUL character" in str(results[7])
    assert isinstance(results[13], TypeError) and "input['text'] holds a NUL character" in str(results[13])
    assert [r for n, r in enumerate(results) if n not in (7, 13)] == [None] * 20
    assert await env.client.get_status("bad-input") is None
    async with env.runtime():
        for n, instance_id in enumerate(good):
            state = await env.client.wait_for_orchestration(instance_id, timeout_ms=15000)
            assert (state.status, state.output) == ("Completed", n * 2)


async def test_every_call_naming_an_instance_refuses_a_nul_id_with_a_value_error(env):
    _doubler(env)
    bad = "n\x00a"
    with pytest.raises(ValueError, match=r"instance id 'n\\x00a' holds a NUL character"):
        await env.client.start_orchestration(bad, "Double", 1)
    with pytest.raises(ValueError, match="NUL character"):
        await env.client.start_orchestration_versioned("v", "Double", 1, "1\x00")
    for call in (
        env.client.raise_event(bad, "Go"),
        env.client.cancel_instance(bad),
        env.client.terminate_instance(bad),
        env.client.get_status(bad),
        env.client.wait_for_orchestration(bad, timeout_ms=100),
        env.client.read_history(bad),
        env.client.delete_instance(bad),
    ):
        with pytest.raises(ValueError, match="NUL character"):
            await call
    await env.client.start_orchestration("fine", "Double", 1)
    for call in (env.client.raise_event("fine", "Go\x00"), env.client.raise_event("fine", "Go", ["\x00"])):
        with pytest.raises((ValueError, TypeError), match="NUL character"):
            await call
    async with env.runtime():
        state = await env.client.wait_for_orchestration("fine", timeout_ms=15000)
    assert (state.status, state.output) == ("Completed", 2)


async def test_nul_text_chosen_by_orchestrations_fails_only_them_cleanly(env):
    _doubler(env)

    @env.app.activity("Echo")
    async def echo(ctx, text):
        return text + "\x00"

    @env.app.activity("Raise")
    async def raise_(ctx, text):
        raise RuntimeError(text + "\x00here")

    @env.app.orchestration("Child")
    def child(ctx, x):
        yield ctx.utc_now()
        return x

    @env.app.orchestration("Bad")
    def bad(ctx, how):
        yield ctx.utc_now()
        if how == "sub-id":
            return (yield ctx.schedule_sub_orchestration_with_id("Child", "c\x00", 1))
        if how == "start-id":
            return (yield ctx.start_orchestration("Child", "s\x00", 1))
        if how == "continue":
            return (yield ctx.continue_as_new("a\x00b"))
        if how == "status":
            ctx.set_custom_status({"s": "\x00"})
        if how == "output":
            return "out\x00put"
        if how == "activity-result":
            return (yield ctx.schedule_activity("Echo", "r"))
        if how == "activity-error":
            return (yield ctx.schedule_activity("Raise", "boom"))
        return None

    hows = ["sub-id", "start-id", "continue", "status", "output", "activity-result", "activity-error"]
    async with env.runtime():
        await asyncio.gather(
            *(env.client.start_orchestration(h, "Bad", h) for h in hows),
            *(env.client.start_orchestration(f"ok-{n}", "Double", n) for n in range(10)),
        )
        states = {h: await env.client.wait_for_orchestration(h, timeout_ms=15000) for h in hows}
        for n in range(10):
            state = await env.client.wait_for_orchestration(f"ok-{n}", timeout_ms=15000)
            assert (state.status, state.output) == ("Completed", n * 2)
    for how, state in states.items():
        assert state.status == "Failed", (how, state)
        expected = "boom\\x00here" if how == "activity-error" else "NUL character"
        assert expected in state.error, (how, state.error)
