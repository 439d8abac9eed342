"""A runtime fetches more work than it runs at once; what waits for a thread or a slot is
neither timed out, nor run on a lease that may run out, nor run twice."""

from __future__ import annotations

import asyncio
import logging
import time

from duroxide_cli.runtime import Clock


class ShiftedClock(Clock):
    """The wall clock moved by ``offset_ms``, which user code moves on while the test runs."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def now_ms(self) -> int:
        return super().now_ms() + self.offset_ms


async def test_the_watchdog_times_a_turn_from_when_it_has_a_thread_not_from_its_fetch(env):
    @env.app.orchestration("BlocksAWhile")
    def blocks_a_while(ctx):
        time.sleep(0.4)  # blocking, but well within the turn timeout
        yield ctx.schedule_timer(1)
        return "done"

    ids = [f"q-{i}" for i in range(3)]
    for instance_id in ids:  # queued before the runtime starts: one fetch takes all three
        await env.client.start_orchestration(instance_id, "BlocksAWhile")
    # one thread: the third turn waits 0.8 s for it, then runs 0.4 s, longer than the timeout
    # from its fetch but not from its start
    async with env.runtime(orchestration_concurrency=1, turn_timeout_ms=1000):
        states = [await env.client.wait_for_orchestration(i, timeout_ms=30_000) for i in ids]
    assert [(s.status, s.error) for s in states] == [("Completed", None)] * 3


async def test_a_turn_that_waited_through_half_its_lease_is_fetched_again_instead_of_run(env, caplog):
    clock = ShiftedClock()

    @env.app.orchestration("TakesAMinute")
    def takes_a_minute(ctx):
        clock.offset_ms += 60_000  # by the runtime's clock this turn holds the one thread for a minute
        return ctx.instance_id
        yield  # a generator

    for instance_id in ("first", "second"):
        await env.client.start_orchestration(instance_id, "TakesAMinute")
    with caplog.at_level(logging.WARNING, logger="duroxide.orchestration"):
        async with env.runtime(orchestration_concurrency=1, orchestrator_lock_timeout_ms=30_000, clock=clock):
            states = [await env.client.wait_for_orchestration(i, timeout_ms=30_000) for i in ("first", "second")]
    assert [(s.status, s.output) for s in states] == [("Completed", "first"), ("Completed", "second")]
    released = [r.getMessage() for r in caplog.records if "through half its lease" in r.getMessage()]
    assert released and all("second" in line for line in released)
    assert await env.kinds("second") == ["OrchestrationStarted", "OrchestrationCompleted"]


async def test_activities_fetched_beyond_the_slots_wait_for_one_and_keep_their_leases(env):
    running, most, runs = 0, 0, {}
    first_slow = asyncio.Event()
    taken: list[int] = []

    @env.app.activity("Quick")
    async def quick(ctx, i):
        return i

    @env.app.activity("Slow")
    async def slow(ctx, i):
        nonlocal running, most
        first_slow.set()
        runs[i] = runs.get(i, 0) + 1
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.5)
        running -= 1
        return i

    @env.app.orchestration("QuickThenSlow")
    def quick_then_slow(ctx):
        yield ctx.all([ctx.schedule_activity("Quick", i) for i in range(20)])  # activities look short now
        slow = yield ctx.all([ctx.schedule_activity("Slow", i) for i in range(4)])
        return slow

    async def take_lapsed_leases() -> None:
        """Once the runtime holds the slow activities, fetch as another worker would: only
        work whose lease lapsed can be had (given back at once)."""
        await first_slow.wait()
        while True:
            for work in await env.provider.fetch_activity_work(10, 60_000, "another-worker"):
                taken.append(work.activity.input)
                await env.provider.abandon_activity(work.work_id, work.lock_token, count_delivery=False)
            await asyncio.sleep(0.1)

    # one slot: the four slow activities are fetched together, and the last waits 1.5 s, more
    # than twice its lease of 600 ms (renewed every 200 ms), for the slot
    async with env.runtime(activity_concurrency=1, worker_lock_timeout_ms=600):
        await env.client.start_orchestration("i-1", "QuickThenSlow")
        thief = asyncio.ensure_future(take_lapsed_leases())
        state = await env.client.wait_for_orchestration("i-1", timeout_ms=30_000)
        thief.cancel()
    assert (state.status, state.output) == ("Completed", [0, 1, 2, 3])
    assert most == 1
    assert taken == []
    assert runs == {0: 1, 1: 1, 2: 1, 3: 1}


async def test_activities_started_one_after_another_each_keep_their_lease(env):
    """Each running activity's lease is renewed from its own start, however the starts interleave."""
    runs: dict[int, int] = {}
    taken: list[int] = []
    started = asyncio.Event()

    @env.app.activity("Long")
    async def long(ctx, i):
        started.set()
        runs[i] = runs.get(i, 0) + 1
        await asyncio.sleep(2.2)  # more than twice the lease of 900 ms (renewed every 300 ms)
        return i

    @env.app.orchestration("Staggered")
    def staggered(ctx):
        first = ctx.schedule_activity("Long", 0)
        yield ctx.schedule_timer(50)  # the second starts while the first waits for its first renewal
        second = ctx.schedule_activity("Long", 1)
        return (yield ctx.all([first, second]))

    async def take_lapsed_leases() -> None:
        await started.wait()
        while True:
            for work in await env.provider.fetch_activity_work(10, 60_000, "another-worker"):
                taken.append(work.activity.input)
                await env.provider.abandon_activity(work.work_id, work.lock_token, count_delivery=False)
            await asyncio.sleep(0.1)

    async with env.runtime(worker_lock_timeout_ms=900):
        await env.client.start_orchestration("i-1", "Staggered")
        thief = asyncio.ensure_future(take_lapsed_leases())
        state = await env.client.wait_for_orchestration("i-1", timeout_ms=30_000)
        thief.cancel()
    assert (state.status, state.output) == ("Completed", [0, 1])
    assert taken == []
    assert runs == {0: 1, 1: 1}
