"""How ``timers`` and ``events`` start their instances: at a steady rate, open loop."""

from __future__ import annotations

import asyncio

from duroxide_cli.bench.workloads import start_at_steady_rate


async def test_starts_follow_the_schedule_from_the_first():
    loop = asyncio.get_running_loop()
    called: list[float] = []

    async def start(i: int) -> None:
        called.append(loop.time())

    await start_at_steady_rate(4, 50.0, start)
    assert len(called) == 4
    for i, at in enumerate(called):
        assert at - called[0] >= i / 50.0 - 0.001  # never early (a loaded machine may make it late)


async def test_a_start_that_has_not_returned_does_not_hold_back_the_next():
    gate = asyncio.Event()
    started: list[int] = []

    async def start(i: int) -> None:
        started.append(i)
        if len(started) == 3:
            gate.set()
        await gate.wait()  # no start returns before all three have begun

    await asyncio.wait_for(start_at_steady_rate(3, 1000.0, start), timeout=30)
    assert started == [0, 1, 2]
