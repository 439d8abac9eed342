"""Two and three runtimes racing on one store: they share the work, every instance completes
once, and (with no crash) every activity runs exactly once."""

from __future__ import annotations

import pytest

from duroxide_cli import Client

from .checker import assert_histories_exact

CALM_LEASES = {"DUROXIDE_ORCHESTRATOR_LOCK_TIMEOUT_MS": "10000", "DUROXIDE_WORKER_LOCK_TIMEOUT_MS": "10000"}
"""No process dies here, so a lease that lapses on a loaded machine would only cause re-runs."""


@pytest.mark.parametrize("processes", [2, 3])
async def test_runtimes_racing_on_one_store(fault_store, runners, processes):
    client = Client(await fault_store.open())
    procs = [runners(f"racer-{n}", **CALM_LEASES) for n in range(processes)]
    for proc in procs:
        proc.wait_ready()
    ids = []
    for i in range(24):
        instance_id = f"race-{i}"
        # activities take a little time, so that one process cannot take all the work before the
        # others' next poll (a fetch takes several items at once)
        if i % 2:
            await client.start_orchestration(instance_id, "Chain", {"steps": 3, "sleep": 0.05})
        else:
            await client.start_orchestration(instance_id, "FanOut", {"width": 6, "sleep": 0.05})
        ids.append(instance_id)
    states = [await client.wait_for_orchestration(i, timeout_ms=60_000) for i in ids]
    for proc in procs:
        assert proc.stop() == 0, proc.stderr
    assert [s.output for s in states] == [sum(range(6)) if i % 2 == 0 else sum(range(3)) for i in range(24)]
    runs = fault_store.activity_runs()
    assert len(runs) == 12 * 6 + 12 * 3
    assert set(runs.values()) == {1}, {key: count for key, count in runs.items() if count > 1}
    assert len({pid for _, _, pid in fault_store.marks()}) >= 2  # the work was shared
    await assert_histories_exact(client.provider)
