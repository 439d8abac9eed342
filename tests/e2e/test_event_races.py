"""Races between event waits: the earliest event wins, and the losing wait consumes nothing."""

from __future__ import annotations

import asyncio

from duroxide_cli import RaceResult


async def test_a_command_loop_racing_two_waits_applies_every_event_in_arrival_order(env):
    @env.app.activity("Apply")
    async def apply(ctx, command):
        return command

    @env.app.orchestration("Account")
    def account(ctx, count):
        applied = []
        while len(applied) < count:
            index, amount = yield ctx.race(ctx.wait_for_event("deposit"), ctx.wait_for_event("withdraw"))
            kind = ("deposit", "withdraw")[index]
            applied.append((yield ctx.schedule_activity("Apply", f"{kind} {amount}")))
        return applied

    async with env.runtime():
        await env.client.start_orchestration("acct", "Account", 20)
        for i in range(10):
            await env.client.raise_event("acct", "deposit", i)
            await env.client.raise_event("acct", "withdraw", i)
        state = await env.client.wait_for_orchestration("acct", timeout_ms=20000)
    assert state.status == "Completed", state.error
    assert state.output == [f"{kind} {i}" for i in range(10) for kind in ("deposit", "withdraw")]
    raised = [e for e in await env.client.read_history("acct") if e.kind == "EventRaised"]
    assert len(raised) == 20


async def test_with_both_events_buffered_the_earlier_one_wins_the_race(env):
    @env.app.orchestration("Pick")
    def pick(ctx):
        yield ctx.schedule_timer(600)  # busy while both events arrive
        index, value = yield ctx.race(ctx.wait_for_event("a"), ctx.wait_for_event("b"))
        later = yield ctx.wait_for_event("a" if index == 1 else "b")
        return [index, value, later]

    async with env.runtime():
        await env.client.start_orchestration("p-1", "Pick")
        await env.client.raise_event("p-1", "b", "first")
        await asyncio.sleep(0.1)
        await env.client.raise_event("p-1", "a", "second")
        state = await env.client.wait_for_orchestration("p-1", timeout_ms=10000)
    assert state.status == "Completed", state.error
    assert state.output == [1, "first", "second"], "b arrived first, and a is still there for the next wait"


async def test_the_live_and_the_buffered_race_pick_the_same_winner(env):
    @env.app.orchestration("Live")
    def live(ctx):
        result = yield ctx.race(ctx.wait_for_event("a"), ctx.wait_for_event("b"))
        return list(result)

    async with env.runtime():
        await env.client.start_orchestration("l-1", "Live")
        await asyncio.sleep(0.3)  # the race is waiting when the events arrive
        await env.client.raise_event("l-1", "b", "first")
        await env.client.raise_event("l-1", "a", "second")
        state = await env.client.wait_for_orchestration("l-1", timeout_ms=10000)
    assert state.output == list(RaceResult(1, "first"))
