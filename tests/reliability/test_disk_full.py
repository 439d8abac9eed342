"""A disk that fills up under a running store: writes fail as retryable, nothing is half-written,
and the work carries on when space comes back.

The store lives on a small tmpfs mounted for the test (root only: elsewhere the case skips and
says why), so the disk is really full -- no wrapper pretends it is. SQLite only: a PostgreSQL
server's disk is the server's.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from duroxide_cli import Client, Registry, Runtime, RuntimeOptions
from duroxide_cli.errors import ProviderError
from duroxide_cli.providers.sqlite import SqliteProvider

from .checker import assert_histories_exact

BIG = "x" * 20_000
"""An activity result that fills a 1 MB disk in a few dozen instances."""


def _mount(point: Path, size: str, remount: bool = False) -> bool:
    options = f"remount,size={size}" if remount else f"size={size}"
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True)
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path):
    point = tmp_path / "disk"
    point.mkdir()
    if not _mount(point, "1m"):
        pytest.skip("mounting a 1 MB tmpfs needs root (mount -t tmpfs); run the suite as root to fill a real disk")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def _app() -> Registry:
    app = Registry()

    @app.activity("Big")
    async def big(ctx, n):
        return {"n": n, "payload": BIG}

    @app.orchestration("Fill")
    def fill(ctx, n):
        result = yield ctx.schedule_activity("Big", n)
        return result["n"]

    return app


async def test_a_full_disk_fails_writes_as_retryable_and_work_resumes_when_space_returns(small_disk):
    provider = await SqliteProvider.open(small_disk / "store.db")
    client = Client(provider)
    runtime = Runtime(provider, registry=_app(), options=RuntimeOptions(poll_interval_ms=20))
    await runtime.start()
    try:
        started: list[str] = []
        full: ProviderError | None = None
        for n in range(400):
            try:
                await client.start_orchestration(f"fill-{n}", "Fill", n)
            except ProviderError as error:
                full = error
                break
            started.append(f"fill-{n}")
            await asyncio.sleep(0.005)
        assert full is not None, "the disk never filled"
        assert full.retryable, f"a full disk is worth retrying: {full}"
        await asyncio.sleep(1.0)  # the runtime meets the full disk too, and backs off
        assert runtime.failure is None, "a full disk must not stop the runtime"

        assert _mount(small_disk, "64m", remount=True), "could not give the disk room again"
        for n in range(len(started), len(started) + 5):
            await client.start_orchestration(f"fill-{n}", "Fill", n)
            started.append(f"fill-{n}")
        states = [await client.wait_for_orchestration(i, timeout_ms=60_000) for i in started]
        assert [s.status for s in states] == ["Completed"] * len(started)
        assert [s.output for s in states] == [int(i.split("-")[1]) for i in started]
        assert runtime.failure is None
    finally:
        await runtime.shutdown(timeout_ms=2000)
    await assert_histories_exact(provider)
    await provider.close()
