"""The app the many-process test runs with ``duroxide run``: orchestrations that fan out to
activities, each activity reporting which runtime ran it (its worker_id: host:pid)."""

from __future__ import annotations

import asyncio

from duroxide_cli import Registry

app = Registry()


@app.activity("Work")
async def work(ctx, n):
    await asyncio.sleep(0.05)
    return {"n": n, "worker_id": ctx.worker_id}


@app.orchestration("FanOut")
def fan_out(ctx, count):
    return (yield ctx.all([ctx.schedule_activity("Work", n) for n in range(count)]))
