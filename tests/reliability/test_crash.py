"""Durability with real processes: SIGKILL mid-instance, and two processes on one SQLite file."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from duroxide_cli import Client
from duroxide_cli.providers.sqlite import SqliteProvider

APP = Path(__file__).with_name("crash_app.py")


def _spawn(db: Path, markers: Path) -> subprocess.Popen:
    log = open(db.with_suffix(".log"), "a")
    proc = subprocess.Popen([sys.executable, str(APP), str(db), str(markers)], stdout=subprocess.PIPE, stderr=log, text=True)
    log.close()
    assert proc.stdout is not None
    ready = proc.stdout.readline().strip()
    proc.stdout.close()
    assert ready == "ready", db.with_suffix(".log").read_text()
    return proc


def _lines(markers: Path) -> list[tuple[str, int, int]]:
    if not markers.exists():
        return []
    return [(a, int(b), int(c)) for a, b, c in (line.split() for line in markers.read_text().splitlines())]


async def _until(predicate, timeout=30.0):
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


@pytest.fixture
async def store(tmp_path):
    provider = await SqliteProvider.open(tmp_path / "crash.db")
    yield provider, tmp_path / "crash.db", tmp_path / "markers.txt"
    await provider.close()


async def test_sigkill_mid_instance_then_a_new_process_completes_it(store):
    provider, db, markers = store
    client = Client(provider)
    first = _spawn(db, markers)
    try:
        await client.start_orchestration("crash-1", "Steps", 20)
        await _until(lambda: len(_lines(markers)) >= 5)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    done_before = {n for _, n, _ in _lines(markers)}
    assert len(done_before) < 20

    second = _spawn(db, markers)
    try:
        state = await client.wait_for_orchestration("crash-1", timeout_ms=60_000)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(15)
    assert state.status == "Completed"
    assert state.output == sum(range(20))
    runs = collections.Counter(n for _, n, _ in _lines(markers))
    assert set(runs) == set(range(20))
    rerun = [n for n, count in runs.items() if count > 1]
    # at most the one activity that was running at the kill runs again
    assert len(rerun) <= 1
    completed = {e.body.source_event_id for e in await client.read_history("crash-1") if e.kind == "ActivityCompleted"}
    assert len(completed) == 20
    assert second.returncode == 0


async def test_two_processes_on_one_file_share_the_work(store):
    provider, db, markers = store
    client = Client(provider)
    procs = [_spawn(db, markers), _spawn(db, markers)]
    try:
        for i in range(12):
            await client.start_orchestration(f"fan-{i}", "FanOut", 8)
        states = [await client.wait_for_orchestration(f"fan-{i}", timeout_ms=60_000) for i in range(12)]
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(15)
    assert all(s.status == "Completed" and s.output == sum(range(8)) for s in states)
    lines = _lines(markers)
    assert len(lines) == 12 * 8
    assert len({(i, n) for i, n, _ in lines}) == 12 * 8
    pids = {pid for _, _, pid in lines}
    assert pids == {p.pid for p in procs}
    assert os.path.exists(db)
