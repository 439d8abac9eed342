"""``duroxide bench --store postgresql://...`` through real processes on a real server: each
workload on a schema of its own, dropped afterwards (also after Ctrl-C), and the URL's own
schema left as it was."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import asyncpg
import pytest
import pytest_asyncio
from postgres_support import PG_CONNECT_URL, drop_schema, new_schema_name, require_postgres, schema_url

from duroxide_cli.bench.stores import SCHEMA_PREFIX
from duroxide_cli.providers._postgres.database import check_schema_name

from .conftest import CLI, Project, _env, duroxide

WORKLOADS = ["hello", "fanout", "chain", "timers", "events", "backlog"]


@pytest_asyncio.fixture
async def pg_url():
    """A URL naming a schema of the test's own (dropped afterwards)."""
    await require_postgres()
    schema = new_schema_name()
    yield schema_url(schema)
    await drop_schema(schema)


async def _schemas_of(pid: int) -> list[str]:
    """The bench schemas the process ``pid`` made that still exist."""
    conn = await asyncpg.connect(PG_CONNECT_URL, timeout=5)
    try:
        rows = await conn.fetch("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)", f"{SCHEMA_PREFIX}{pid}_")
    finally:
        await conn.close()
    return [row["nspname"] for row in rows]


async def _instances_in(schema: str) -> int | None:
    """How many instances the schema holds (None while it has no instances table yet)."""
    conn = await asyncpg.connect(PG_CONNECT_URL, timeout=5)
    try:
        return await conn.fetchval(f'SELECT count(*) FROM "{schema}".instances')
    except asyncpg.UndefinedTableError:
        return None
    finally:
        await conn.close()


async def test_every_workload_runs_on_postgres_and_leaves_no_schema_behind(project: Project, pg_url: str):
    process = await _run_bench(project, "-n", "3", "-o", "jsonl", "--store", pg_url)
    records = [json.loads(line) for line in process.stdout.splitlines()]
    assert [r["workload"] for r in records] == WORKLOADS
    assert {r["store"] for r in records} == {"postgresql"}
    assert {r["workload"]: r["n"] for r in records} == {**dict.fromkeys(WORKLOADS, 3), "backlog": 30}
    assert all(r["rate"] > 0 for r in records)
    assert await _schemas_of(process.pid) == []


async def test_the_schema_the_url_names_is_left_as_it_was(project: Project, pg_url: str):
    started = duroxide("start", "Doubler", "--input", "4", "--id", "kept", "--store", pg_url, cwd=project.root)
    assert started.returncode == 0, started.stderr
    before = duroxide("list", "--store", pg_url, "-o", "json", cwd=project.root)
    await _run_bench(project, "-w", "hello", "-n", "2", "-o", "json", "--store", pg_url)
    after = duroxide("list", "--store", pg_url, "-o", "json", cwd=project.root)
    assert json.loads(after.stdout) == json.loads(before.stdout)
    assert [state["status"] for state in json.loads(after.stdout)] == ["Pending"]


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"])
async def test_a_signal_during_a_workload_drops_its_schema(project: Project, pg_url: str, background, sig, code):
    running = background("bench", "-w", "hello", "-n", "100000", "-o", "jsonl", "--store", pg_url)
    pid = running.process.pid
    deadline = time.monotonic() + 60
    schemas: list[str] = []
    while time.monotonic() < deadline and running.process.poll() is None:  # until instances are being written
        schemas = await _schemas_of(pid)
        if schemas and (await _instances_in(schemas[0]) or 0) > 0:
            break
        time.sleep(0.05)
    assert schemas, f"no bench schema appeared; stderr:\n{running.stderr}"
    running.process.send_signal(sig)
    assert running.process.wait(timeout=60) == code, running.stderr
    assert await _schemas_of(pid) == []


class _Finished:
    def __init__(self, pid: int, stdout: str):
        self.pid = pid
        self.stdout = stdout


async def _run_bench(project: Project, *args: str) -> _Finished:
    """``duroxide bench`` in a process of its own; its pid names the schemas it makes."""
    process = subprocess.Popen([*CLI, "bench", *args], cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    stdout, stderr = process.communicate(timeout=240)
    assert process.returncode == 0, stderr
    return _Finished(process.pid, stdout)


def test_schema_names_are_valid_whatever_the_process_id():
    assert check_schema_name(f"{SCHEMA_PREFIX}{4194304}_{'f' * 8}")
