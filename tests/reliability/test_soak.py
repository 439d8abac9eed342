"""The soak: 10,000 mixed instances on one store served by several ``duroxide run`` processes
(two on a SQLite file, three on a PostgreSQL schema), one of which is SIGKILLed (and started
again) every few seconds, in turn, until every instance has completed; then the history checker
walks every history.

Outside the default run (marked ``slow``); run it on both stores, or on one, with

    pytest -m slow tests/reliability/test_soak.py -s
    pytest -m slow tests/reliability/test_soak.py -s -k postgres

``DUROXIDE_SOAK_INSTANCES`` (default 10000) and ``DUROXIDE_SOAK_KILL_EVERY_S`` (default 3)
change its size and pace: a process is struck only once it dispatches and while another one does
too, so a kill may wait for a restarted process to finish its pre-flight. Its figures are
printed as one JSON line; docs/reliability.md records a run of them.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import time

import pytest

from duroxide_cli import Client
from duroxide_cli.providers.base import InstanceFilter

from .checker import assert_histories_exact

pytestmark = pytest.mark.slow

INSTANCES = int(os.environ.get("DUROXIDE_SOAK_INSTANCES", "10000"))
KILL_EVERY_S = float(os.environ.get("DUROXIDE_SOAK_KILL_EVERY_S", "3"))
PROCESSES = {"sqlite": 2, "postgres": 3}
"""How many ``duroxide run`` processes serve each store."""


async def test_soak_with_a_kill_every_few_seconds(fault_store, runners):
    client = Client(await fault_store.open())
    began = time.monotonic()
    for n in range(INSTANCES):
        await client.start_orchestration(f"soak-{n:05}", "Mixed", n)
    started_s = time.monotonic() - began

    names = "abc"[: PROCESSES[fault_store.kind]]
    procs = [runners(f"soak-{name}").wait_ready() for name in names]
    spawned = {proc: time.monotonic() for proc in procs}
    ready_at = dict(spawned)
    restart_s: list[float] = []
    top_level = InstanceFilter(top_level=True)
    kills, generation = 0, 0
    next_kill = time.monotonic() + KILL_EVERY_S
    while True:
        done = await client.count_instances(InstanceFilter(statuses=("Completed", "Failed", "Cancelled"), top_level=True))
        if done >= INSTANCES:
            break
        now = time.monotonic()
        assert now - began < 3600, f"only {done} of {INSTANCES} finished within an hour"
        for proc in procs:
            if proc not in ready_at and proc.ready:
                ready_at[proc] = now
                restart_s.append(now - spawned[proc])
        dispatching = [n for n, proc in enumerate(procs) if proc in ready_at]
        # strike a process that is dispatching, in turn, and only while another one is too: a
        # restarted process replays every Running instance before it dispatches (the pre-flight)
        if now >= next_kill and len(dispatching) >= 2:
            victim = kills % len(procs)
            if victim not in dispatching:
                victim = min(dispatching, key=lambda n: ready_at[procs[n]])
            procs[victim].kill()
            kills += 1
            generation += 1
            procs[victim] = runners(f"soak-{names[victim]}-{generation}")
            spawned[procs[victim]] = time.monotonic()
            next_kill = time.monotonic() + KILL_EVERY_S
        await asyncio.sleep(0.2)
    run_s = time.monotonic() - began - started_s
    slow_stops = []  # a graceful stop that overran: recorded, not failed, since every instance is done
    for proc in procs:
        try:
            proc.stop()
        except subprocess.TimeoutExpired:
            slow_stops.append(proc.log.name)
            proc.kill()

    completed = await client.count_instances(InstanceFilter(statuses=("Completed",), top_level=True))
    runs = fault_store.activity_runs()
    figures = {
        "store": fault_store.kind,
        "processes": len(procs),
        "instances": INSTANCES,
        "all_instances_with_children": await client.count_instances(),
        "completed": completed,
        "seconds_to_create": round(started_s, 1),
        "seconds_to_finish": round(run_s, 1),
        "kills": kills,
        "activities": len(runs),
        "activity_runs": sum(runs.values()),
        "duplicate_activity_runs": sum(runs.values()) - len(runs),
        "restart_to_dispatch_s_median": round(statistics.median(restart_s), 1) if restart_s else None,
        "restart_to_dispatch_s_max": round(max(restart_s), 1) if restart_s else None,
        "stops_over_20_s": slow_stops,
    }
    print("\nsoak figures:", json.dumps(figures))
    assert completed == INSTANCES == await client.count_instances(top_level)
    await assert_histories_exact(client.provider)
