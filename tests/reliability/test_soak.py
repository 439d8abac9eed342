"""The soak: 10,000 mixed instances on one SQLite store served by two ``duroxide run``
processes, one of which is SIGKILLed (and started again) every few seconds, until every
instance has completed; then the history checker walks every history.

Outside the default run (marked ``slow``); run it with

    pytest -m slow tests/reliability/test_soak.py -s

``DUROXIDE_SOAK_INSTANCES`` (default 10000) and ``DUROXIDE_SOAK_KILL_EVERY_S`` (default 3)
change its size and pace. Its figures are printed as one JSON line; docs/reliability.md records
a run of them.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import pytest

from duroxide_cli import Client
from duroxide_cli.providers.base import InstanceFilter

from .checker import assert_histories_exact

pytestmark = pytest.mark.slow

INSTANCES = int(os.environ.get("DUROXIDE_SOAK_INSTANCES", "10000"))
KILL_EVERY_S = float(os.environ.get("DUROXIDE_SOAK_KILL_EVERY_S", "3"))


async def test_soak_with_a_kill_every_few_seconds(fault_store, runners):
    client = Client(await fault_store.open())
    began = time.monotonic()
    for n in range(INSTANCES):
        await client.start_orchestration(f"soak-{n:05}", "Mixed", n)
    started_s = time.monotonic() - began

    procs = [runners("soak-a").wait_ready(), runners("soak-b").wait_ready()]
    top_level = InstanceFilter(top_level=True)
    kills, generation = 0, 0
    next_kill = time.monotonic() + KILL_EVERY_S
    while True:
        done = await client.count_instances(InstanceFilter(statuses=("Completed", "Failed", "Cancelled"), top_level=True))
        if done >= INSTANCES:
            break
        assert time.monotonic() - began < 3600, f"only {done} of {INSTANCES} finished within an hour"
        if time.monotonic() >= next_kill:
            victim = kills % 2
            procs[victim].kill()
            kills += 1
            generation += 1
            procs[victim] = runners(f"soak-{'ab'[victim]}-{generation}")
            next_kill = time.monotonic() + KILL_EVERY_S
        await asyncio.sleep(0.2)
    run_s = time.monotonic() - began - started_s
    for proc in procs:
        proc.stop()

    completed = await client.count_instances(InstanceFilter(statuses=("Completed",), top_level=True))
    runs = fault_store.activity_runs()
    figures = {
        "instances": INSTANCES,
        "all_instances_with_children": await client.count_instances(),
        "completed": completed,
        "seconds_to_create": round(started_s, 1),
        "seconds_to_finish": round(run_s, 1),
        "kills": kills,
        "activities": len(runs),
        "activity_runs": sum(runs.values()),
        "duplicate_activity_runs": sum(runs.values()) - len(runs),
    }
    print("\nsoak figures:", json.dumps(figures))
    assert completed == INSTANCES == await client.count_instances(top_level)
    await assert_histories_exact(client.provider)
