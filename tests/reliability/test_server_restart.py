"""The PostgreSQL server restarts under a running ``duroxide run``: while it is down every call
fails (connections refused, not just dropped), the runtime backs off instead of stopping, and
once the server is back every instance completes with an exact history.

The server is one of the test's own (``private_postgres``), since the shared test server cannot
be restarted under the other tests.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest_asyncio

from duroxide_cli import Client
from duroxide_cli.providers.postgres import PostgresProvider

from .checker import assert_histories_exact
from .private_postgres import PrivateServer

APP = Path(__file__).with_name("steps_app.py")
INSTANCES = 20
STEPS = 5
LEASE_MS = 2000


@pytest_asyncio.fixture
async def server():
    server = PrivateServer()
    try:
        server.start()
        yield server
    finally:
        server.remove()


def _spawn(url: str, where: Path, log: IO[str]) -> subprocess.Popen:
    duroxide = shutil.which("duroxide", path=str(Path(sys.executable).parent)) or "duroxide"
    env = {
        **os.environ,
        "DUROXIDE_ORCHESTRATOR_LOCK_TIMEOUT_MS": str(LEASE_MS),
        "DUROXIDE_WORKER_LOCK_TIMEOUT_MS": str(LEASE_MS),
        "DUROXIDE_LOG": "warn",
        "NO_COLOR": "1",
    }
    return subprocess.Popen(
        [duroxide, "run", str(APP), "--store", url], cwd=where, env=env, stdout=log, stderr=subprocess.STDOUT
    )


async def _steps_done(url: str) -> int:
    provider = await PostgresProvider.connect(url)
    try:
        histories = [await provider.read_history(f"s-{i:02}") for i in range(INSTANCES)]
        return sum(event.kind == "ActivityCompleted" for history in histories for event in history)
    finally:
        await provider.close()


async def _completed(url: str) -> int:
    provider = await PostgresProvider.connect(url)
    try:
        return (await Client(provider).get_system_metrics()).by_status.get("Completed", 0)
    finally:
        await provider.close()


async def test_a_server_restart_mid_run_loses_and_duplicates_nothing(server, tmp_path):
    provider = await PostgresProvider.connect(server.url)
    client = Client(provider)
    for index in range(INSTANCES):
        await client.start_orchestration(f"s-{index:02}", "Steps", STEPS)
    await provider.close()

    log = open(tmp_path / "run.log", "w")  # noqa: SIM115 - closed once the process ends, below
    run = _spawn(server.url, tmp_path, log)
    try:
        for _ in range(600):  # until the instances are under way
            if await _steps_done(server.url) >= INSTANCES:
                break
            await asyncio.sleep(0.05)
        assert await _completed(server.url) == 0, "the instances finished before the restart; make them longer"
        server.stop()
        await asyncio.sleep(3)  # longer than the leases: every call meanwhile is refused
        assert run.poll() is None, "duroxide run stopped while the server was down:\n" + (tmp_path / "run.log").read_text()
        server.start()

        provider = await PostgresProvider.connect(server.url)
        client = Client(provider)
        try:
            states = [await client.wait_for_orchestration(f"s-{i:02}", timeout_ms=60_000) for i in range(INSTANCES)]
            assert [s.status for s in states] == ["Completed"] * INSTANCES, [s.error for s in states]
            assert all(s.output == sum(range(STEPS)) for s in states)
            await assert_histories_exact(provider)
        finally:
            await provider.close()
        assert run.poll() is None, "duroxide run did not carry on once the server was back"
    finally:
        run.terminate()
        run.wait(timeout=30)
        log.close()
    output = (tmp_path / "run.log").read_text()
    assert "Traceback" not in output, output
