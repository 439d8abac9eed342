"""Chains whose steps commit without the lock while events keep arriving: many such commits are
refused (an event is queued) and go on under the lock instead. However many are refused, the
runtime keeps fetching what the store holds for it -- here the events that end each instance."""

from __future__ import annotations

import asyncio


async def test_refused_commits_without_the_lock_never_stop_the_fetch(env):
    @env.app.activity("Inc")
    async def inc(ctx, x):
        return x + 1

    @env.app.orchestration("ChainThenEvents")
    def chain_then_events(ctx, n):
        x = 0
        for _ in range(n):
            x = yield ctx.schedule_activity("Inc", x)
        got = []
        for _ in range(3):
            got.append((yield ctx.wait_for_event("ev")))
        return [x, got]

    ids = [f"c-{k}" for k in range(60)]
    async with env.runtime(orchestration_concurrency=2):
        for instance_id in ids:
            await env.client.start_orchestration(instance_id, "ChainThenEvents", 20)
        for round_ in range(3):  # raised while the chains run: their steps' commits meet them
            await asyncio.sleep(0.02)
            for instance_id in ids:
                await env.client.raise_event(instance_id, "ev", round_)
        states = [await env.client.wait_for_orchestration(i, timeout_ms=30000) for i in ids]
    assert [s.status for s in states] == ["Completed"] * len(ids)
    assert all(s.output == [20, [0, 1, 2]] for s in states)
