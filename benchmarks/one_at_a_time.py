"""Latency of one instance at a time: what ``duroxide bench``'s ``events`` and ``timers`` measure
without the queue that starting hundreds of instances together builds.

Usage: ``python benchmarks/one_at_a_time.py [-n 200] [--store URL]``

On one runtime and a fresh store (a temporary SQLite file at its default, ``synchronous=FULL``,
unless ``--store`` names one, as ``duroxide bench`` does), runs ``-n`` instances of each
pattern one after another, each started only when the one before it has completed:

* ``events``: start an ``AwaitEvent`` instance and raise its event right after the start
  returns; the latency is from the instance's creation to its completion, by the store's own
  timestamps (milliseconds), as ``duroxide bench`` measures it, and by this process's clock
  from the call that starts it to the moment the runtime counted it completed.
* ``timers``: start a ``Sleep`` instance (one 10 ms timer); the latency is how late the timer
  fired (``TimerFired`` against its due time), as ``duroxide bench`` measures it.

Prints one JSON line per pattern with p50/p99 of each latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from duroxide_cli.bench.app import EVENT_NAME, bench_app
from duroxide_cli.bench.stores import BenchStore
from duroxide_cli.client import Client
from duroxide_cli.history import TimerCreated, TimerFired
from duroxide_cli.model.options import RuntimeOptions
from duroxide_cli.runtime import Runtime


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": round(statistics.median(ordered), 2), "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2)}


async def until_completed(runtime: Runtime, before: int) -> None:
    while runtime.stats.instances_completed == before:
        await asyncio.sleep(0.0002)


async def events(runtime: Runtime, client: Client, n: int) -> dict:
    store_ms, wall_ms = [], []
    for i in range(n):
        before = runtime.stats.instances_completed
        started = time.perf_counter()
        await client.start_orchestration(f"event-{i}", "AwaitEvent")
        await client.raise_event(f"event-{i}", EVENT_NAME, i)
        await until_completed(runtime, before)
        wall_ms.append((time.perf_counter() - started) * 1000)
        state = await client.get_status(f"event-{i}")
        assert state is not None and state.status == "Completed", state
        store_ms.append(float(state.updated_at_ms - state.created_at_ms))
    return {"pattern": "events", "n": n, "store_ms": percentiles(store_ms), "wall_ms": percentiles(wall_ms)}


async def timers(runtime: Runtime, client: Client, n: int) -> dict:
    lateness = []
    for i in range(n):
        before = runtime.stats.instances_completed
        await client.start_orchestration(f"timer-{i}", "Sleep")
        await until_completed(runtime, before)
        history = await client.read_history(f"timer-{i}")
        due = {e.event_id: e.body.fire_at_ms for e in history if isinstance(e.body, TimerCreated)}
        lateness += [float(e.timestamp_ms - due[e.body.source_event_id]) for e in history if isinstance(e.body, TimerFired)]
    return {"pattern": "timers", "n": n, "lateness_ms": percentiles(lateness)}


async def main(n: int, store_url: str | None) -> None:
    store = BenchStore.from_url(store_url)
    for pattern in (events, timers):
        async with store.fresh(f"one-{pattern.__name__}") as provider:
            runtime = Runtime(provider, registry=bench_app, options=RuntimeOptions())
            await runtime.start()
            try:
                line = await pattern(runtime, Client(provider), n)
            finally:
                await runtime.shutdown(timeout_ms=2000)
        print(json.dumps({**line, "store": store.label}), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--store", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.store))
