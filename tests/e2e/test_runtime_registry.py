"""Runtimes register in the store, stay live while they run, and leave on a clean shutdown;
a Pending instance says when no runtime is serving the store."""

from __future__ import annotations

import asyncio
import os
import socket

from duroxide_cli import Client, Registry, Runtime, RuntimeInfo, RuntimeOptions
from duroxide_cli.client import NO_RUNTIME_REASON
from duroxide_cli.providers.base import RUNTIME_LIVE_WITHIN_MS
from duroxide_cli.runtime import Clock
from duroxide_cli.runtime.heartbeat import Heartbeat


class ShiftedClock(Clock):
    """The wall clock moved by ``offset_ms``; ``offset_ms`` may change while the test runs."""

    def __init__(self, offset_ms: int = 0):
        self.offset_ms = offset_ms

    def now_ms(self) -> int:
        return super().now_ms() + self.offset_ms


async def test_a_started_runtime_is_listed_until_it_shuts_down(provider):
    client = Client(provider)
    runtime = Runtime(provider, options=RuntimeOptions(worker_id="w-1", poll_interval_ms=20), app="shop/app.py")
    await runtime.start()
    try:
        (info,) = await client.list_runtimes()
        assert isinstance(info, RuntimeInfo)
        assert (info.worker_id, info.host, info.pid, info.app) == ("w-1", socket.gethostname(), os.getpid(), "shop/app.py")
        assert info.started_at_ms == info.last_seen_at_ms > 0
    finally:
        await runtime.shutdown(timeout_ms=1000)
    assert await client.list_runtimes() == []
    assert await provider.list_runtimes() == []


async def test_a_runtime_made_in_code_has_no_app(provider):
    async with Runtime(provider, options=RuntimeOptions(worker_id="w-code")):
        (info,) = await Client(provider).list_runtimes()
    assert info.app is None


async def test_a_runtime_not_seen_for_15_seconds_is_not_live(provider):
    clock = ShiftedClock(offset_ms=-(RUNTIME_LIVE_WITHIN_MS + 1000))
    async with Runtime(provider, options=RuntimeOptions(worker_id="stale"), clock=clock):
        assert await Client(provider).list_runtimes() == []
        assert [r.worker_id for r in await provider.list_runtimes()] == ["stale"]


async def test_the_heartbeat_refreshes_last_seen_with_the_runtime_clock(provider):
    clock = ShiftedClock()
    heartbeat = Heartbeat(provider, "w-beat", None, clock, interval_ms=20)
    await heartbeat.register()
    (first,) = await provider.list_runtimes()
    clock.offset_ms = 60_000
    task = asyncio.create_task(heartbeat.run())
    try:
        for _ in range(200):
            (row,) = await provider.list_runtimes()
            if row.last_seen_at_ms >= first.last_seen_at_ms + 60_000:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the heartbeat did not refresh the row")
        assert row.started_at_ms == first.started_at_ms
    finally:
        heartbeat.request_stop()
        await task
    await heartbeat.remove()
    assert await provider.list_runtimes() == []


async def test_starting_removes_rows_dead_runtimes_left_long_ago(provider):
    await provider.register_runtimes([RuntimeInfo("dead", "h", 1, None, 1000, 1000)])
    async with Runtime(provider, options=RuntimeOptions(worker_id="alive")):
        assert [r.worker_id for r in await provider.list_runtimes()] == ["alive"]


async def test_a_pending_instance_says_no_runtime_is_serving_the_store(provider):
    client = Client(provider)
    await client.start_orchestration("p-1", "Unknown")
    state = await client.get_status("p-1")
    assert state is not None and state.status == "Pending"
    assert state.error == NO_RUNTIME_REASON and state.error.startswith("no runtime is serving this store")
    assert [s.error for s in await client.list_instances()] == [NO_RUNTIME_REASON]
    assert (await client.get_instance_info("p-1")).state.error == NO_RUNTIME_REASON


async def test_with_a_live_runtime_that_lacks_the_code_the_not_registered_reason_shows(provider):
    client = Client(provider)
    await client.start_orchestration("p-2", "Unknown")
    async with Runtime(provider, registry=Registry(), options=RuntimeOptions(poll_interval_ms=20)):
        for _ in range(300):
            state = await client.get_status("p-2")
            assert state is not None
            if state.error and "not registered" in state.error:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError(f"the not-registered reason never showed: {state}")
        assert not state.error.startswith("no runtime")
    state = await client.get_status("p-2")
    assert state is not None and state.error == NO_RUNTIME_REASON
