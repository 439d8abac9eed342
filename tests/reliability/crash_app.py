"""A runtime process for the crash tests: ``python crash_app.py DB MARKERS``; runs until killed."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

from duroxide_cli import Registry, Runtime, RuntimeOptions
from duroxide_cli.providers.sqlite import SqliteProvider

app = Registry()
MARKERS = sys.argv[2] if len(sys.argv) > 2 else os.devnull


@app.activity("Step")
def step(ctx, n):
    time.sleep(0.05)
    with open(MARKERS, "a") as f:
        f.write(f"{ctx.instance_id} {n} {os.getpid()}\n")
    return n


@app.orchestration("Steps")
def steps(ctx, count):
    total = 0
    for n in range(count):
        total += yield ctx.schedule_activity("Step", n)
    return total


@app.orchestration("FanOut")
def fan_out(ctx, count):
    results = yield ctx.all([ctx.schedule_activity("Step", n) for n in range(count)])
    return sum(results)


async def main(db: str) -> None:
    provider = await SqliteProvider.open(db)
    options = RuntimeOptions(
        poll_interval_ms=20, orchestrator_lock_timeout_ms=1500, worker_lock_timeout_ms=1500, activity_concurrency=4
    )
    runtime = Runtime(provider, registry=app, options=options)
    await runtime.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await stop.wait()
    await runtime.shutdown(timeout_ms=2000)
    await provider.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
