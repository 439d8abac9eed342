"""Instances a runtime holds back (``duroxide run --reload``'s diverging ones): shown in ``held``."""

from __future__ import annotations

import asyncio


def _flows(env):
    @env.app.orchestration("WaitEv")
    def wait_ev(ctx, input):
        v = yield ctx.wait_for_event("go")
        return [input, v]


async def _parked(env, instance_id: str) -> None:
    async with env.runtime():
        await env.client.start_orchestration(instance_id, "WaitEv", "x")
        for _ in range(500):
            if "EventSubscribed" in await env.kinds(instance_id):
                return
            await asyncio.sleep(0.01)
    raise AssertionError("the instance never reached its wait")


async def test_a_held_instance_is_running_with_its_hold_and_no_error_and_is_not_dispatched(env):
    _flows(env)
    await _parked(env, "h")
    async with env.runtime() as runtime:
        await runtime.hold_back({"h": "held back: diverges at app.py:3"})
        await env.client.raise_event("h", "go", 1)
        await asyncio.sleep(0.3)
        state = await env.client.get_status("h")
        assert state is not None
        assert (state.status, state.held, state.error) == ("Running", "held back: diverges at app.py:3", None)
        assert "EventRaised" not in await env.kinds("h")

        await runtime.hold_back({}, released=["h"])
        state = await env.client.wait_for_orchestration("h")
    assert (state.status, state.output, state.held, state.error) == ("Completed", ["x", 1], None, None)


async def test_cancelling_a_held_instance_cancels_it(env):
    _flows(env)
    await _parked(env, "h")
    async with env.runtime() as runtime:
        await runtime.hold_back({"h": "held back: diverges at app.py:3"})
        await env.client.cancel_instance("h", "not needed")
        state = await env.client.wait_for_orchestration("h", timeout_ms=10_000)
    assert (state.status, state.error, state.held) == ("Cancelled", "not needed", None)
    assert (await env.kinds("h"))[-2:] == ["CancelRequested", "OrchestrationCancelled"]
