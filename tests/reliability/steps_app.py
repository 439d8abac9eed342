"""The app the server-restart test runs with ``duroxide run``: steps of an activity and a timer."""

from __future__ import annotations

import asyncio

from duroxide_cli import Registry

app = Registry()


@app.activity("Step")
async def step(ctx, n):
    await asyncio.sleep(0.1)
    return n


@app.orchestration("Steps")
def steps(ctx, count):
    total = 0
    for n in range(count):
        total += yield ctx.schedule_activity("Step", n)
        yield ctx.schedule_timer(100)
    return total
