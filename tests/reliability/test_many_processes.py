"""Many `duroxide run` processes on one PostgreSQL schema split the work, and a SIGKILLed one
loses nothing: its leased work is taken over once its leases expire.

Three real processes (``duroxide run fanout_app.py --store postgresql://...?schema=X``) run 300
instances that each fan out to three activities. Which process did the work is measured by
the activities' outputs, which carry their ``ctx.worker_id`` (host:pid of the runtime that ran
them). One process is killed with SIGKILL once a fifth of the instances have completed.
"""

from __future__ import annotations

import asyncio
import collections
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest_asyncio
from postgres_support import PG_CONNECT_URL, drop_schema, new_schema_name, require_postgres, schema_url

from duroxide_cli import Client
from duroxide_cli.providers.postgres import PostgresProvider

APP = Path(__file__).with_name("fanout_app.py")
PROCESSES = 3
INSTANCES = 300
FAN_OUT = 3
LEASE_MS = 2000


@pytest_asyncio.fixture
async def store():
    await require_postgres()
    schema = new_schema_name()
    provider = await PostgresProvider.connect(PG_CONNECT_URL, schema=schema)
    yield provider, schema_url(schema)
    await provider.close()
    await drop_schema(schema)


def _spawn(url: str, where: Path, index: int) -> subprocess.Popen:
    duroxide = shutil.which("duroxide", path=str(Path(sys.executable).parent)) or "duroxide"
    env = {
        **os.environ,
        "DUROXIDE_ORCHESTRATOR_LOCK_TIMEOUT_MS": str(LEASE_MS),
        "DUROXIDE_WORKER_LOCK_TIMEOUT_MS": str(LEASE_MS),
        "DUROXIDE_LOG": "warn",
        "NO_COLOR": "1",
    }
    with open(where / f"run-{index}.log", "w") as log:
        return subprocess.Popen(
            [duroxide, "run", str(APP), "--store", url], cwd=where, env=env, stdout=log, stderr=subprocess.STDOUT
        )


async def _completed(client: Client) -> int:
    return (await client.get_system_metrics()).by_status.get("Completed", 0)


async def _workers_so_far(client: Client) -> collections.Counter[int]:
    """Activities per process (pid) in the results of the instances completed so far."""
    done = [s for s in await client.list_instances(status="Completed", limit=INSTANCES) if s.output]
    return collections.Counter(int(r["worker_id"].rsplit(":", 1)[1]) for s in done for r in s.output)


async def test_three_processes_share_the_work_and_a_killed_one_loses_nothing(store, tmp_path):
    provider, url = store
    client = Client(provider)
    processes = [_spawn(url, tmp_path, index) for index in range(PROCESSES)]
    try:
        for index in range(INSTANCES):
            await client.start_orchestration(f"fan-{index:03}", "FanOut", FAN_OUT)
        for _ in range(200):  # each runtime registers itself at start (duroxide workers lists them)
            workers = await client.list_runtimes()
            if len(workers) == PROCESSES:
                break
            await asyncio.sleep(0.05)
        registered = {w.pid for w in workers}
        while await _completed(client) < INSTANCES // 5:
            await asyncio.sleep(0.05)
        worked = await _workers_so_far(client)
        victim = next(p for p in processes if p.pid in worked)  # one that has done work: its share counts too
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        completed_at_kill = await _completed(client)
        states = [await client.wait_for_orchestration(f"fan-{i:03}", timeout_ms=60_000) for i in range(INSTANCES)]
        histories = [await client.read_history(f"fan-{i:03}") for i in range(INSTANCES)]
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
    logs = "\n".join((tmp_path / f"run-{index}.log").read_text()[-2000:] for index in range(PROCESSES))

    assert registered == {process.pid for process in processes}, "duroxide workers shows all three"
    assert completed_at_kill < INSTANCES  # the kill came midway
    assert [s.status for s in states] == ["Completed"] * INSTANCES, logs
    assert all(sorted(r["n"] for r in s.output) == list(range(FAN_OUT)) for s in states)
    for history in histories:  # every event once: one start, FAN_OUT schedules and completions, one end
        kinds = collections.Counter(event.kind for event in history)
        assert kinds == {"OrchestrationStarted": 1, "ActivityScheduled": FAN_OUT, "ActivityCompleted": FAN_OUT,
                         "OrchestrationCompleted": 1}, history
        completed = [e.body.source_event_id for e in history if e.kind == "ActivityCompleted"]
        assert len(set(completed)) == FAN_OUT
        assert [event.event_id for event in history] == list(range(1, len(history) + 1))
    pids = collections.Counter(int(r["worker_id"].rsplit(":", 1)[1]) for s in states for r in s.output)
    print(f"completed at the kill: {completed_at_kill}; activities per process: {dict(pids)}")
    assert set(pids) == {process.pid for process in processes}, pids  # each process ran activities
    assert all(process.returncode == 0 for process in processes if process is not victim), logs  # the survivors shut down cleanly
