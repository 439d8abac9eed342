"""wait_for_work: local writes wake waiting dispatchers at once; timers wake them when due.

Bounds are generous: these check that a wait ends early, not how fast.
"""

from __future__ import annotations

import asyncio
import time

from duroxide_cli.history import ActivityScheduled, OrchestrationStarted

from .builders import activity, completion, create, event_message, fetch_all, fetch_one, now_ms, turn

LONG_WAIT_MS = 20_000
EARLY_S = 5.0


async def _waiting(provider, queue: str) -> asyncio.Task:
    """A task waiting for ``queue``, already parked in the wait."""
    task = asyncio.create_task(provider.wait_for_work(queue, LONG_WAIT_MS))
    for _ in range(3):  # let it run into the wait (and wait_for's inner task into its event)
        await asyncio.sleep(0)
    assert not task.done()
    return task


async def _ends_early(task: asyncio.Task) -> None:
    await asyncio.wait_for(task, EARLY_S)


async def _drain(provider, queue: str) -> None:
    """Consume wake-ups left by the test's setup."""
    await provider.wait_for_work(queue, 0)


async def test_wait_times_out_when_nothing_happens(provider):
    await _drain(provider, "orchestrator")
    started = time.monotonic()
    await provider.wait_for_work("orchestrator", 200)
    assert 0.1 <= time.monotonic() - started < EARLY_S


async def test_create_instance_wakes_the_orchestrator_queue(provider):
    await _drain(provider, "orchestrator")
    waiter = await _waiting(provider, "orchestrator")
    await create(provider, "a")
    await _ends_early(waiter)


async def test_enqueue_wakes_the_orchestrator_queue(provider):
    await create(provider, "a")
    await provider.commit_turns([turn(await fetch_one(provider, "a"), OrchestrationStarted("Flow", "1.0.0"))])
    await _drain(provider, "orchestrator")
    waiter = await _waiting(provider, "orchestrator")
    await provider.enqueue_message(event_message("a"))
    await _ends_early(waiter)


async def test_a_write_while_nobody_waits_wakes_the_next_wait(provider):
    await _drain(provider, "orchestrator")
    await create(provider, "a")
    started = time.monotonic()
    await provider.wait_for_work("orchestrator", LONG_WAIT_MS)
    assert time.monotonic() - started < EARLY_S


async def test_scheduled_activities_wake_the_worker_queue(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    await _drain(provider, "worker")
    waiter = await _waiting(provider, "worker")
    await provider.commit_turns(
        [turn(work, OrchestrationStarted("Flow", "1.0.0"), ActivityScheduled("A"), activities=[activity(2)])]
    )
    await _ends_early(waiter)


async def test_completed_activity_wakes_the_orchestrator_queue(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    await provider.commit_turns(
        [turn(work, OrchestrationStarted("Flow", "1.0.0"), ActivityScheduled("A"), activities=[activity(2)])]
    )
    [item] = await provider.fetch_activity_work(10, 30_000, "w")
    await _drain(provider, "orchestrator")
    waiter = await _waiting(provider, "orchestrator")
    assert await provider.complete_activities([completion(item)]) == [True]
    await _ends_early(waiter)


async def test_abandoned_instance_wakes_the_orchestrator_queue(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    await _drain(provider, "orchestrator")
    waiter = await _waiting(provider, "orchestrator")
    await provider.abandon_orchestration("a", work.lock_token)
    await _ends_early(waiter)


async def test_delayed_message_wakes_the_wait_when_it_comes_due(provider):
    await create(provider, "a")
    await provider.commit_turns([turn(await fetch_one(provider, "a"), OrchestrationStarted("Flow", "1.0.0"))])
    await _drain(provider, "orchestrator")
    await provider.enqueue_message(event_message("a", "timer"), visible_at_ms=now_ms() + 400)
    started = time.monotonic()
    while "a" not in await fetch_all(provider):
        await provider.wait_for_work("orchestrator", LONG_WAIT_MS)
        assert time.monotonic() - started < EARLY_S, "the timer did not wake the wait"
    assert time.monotonic() - started >= 0.3


async def test_a_timer_written_during_a_wait_ends_that_wait_when_due(provider):
    """A turn that sets a timer commits while the dispatcher already idles: the wait under way
    ends by the timer's due moment, not at its own timeout."""
    await create(provider, "a")
    await provider.commit_turns([turn(await fetch_one(provider, "a"), OrchestrationStarted("Flow", "1.0.0"))])
    assert await fetch_all(provider) == {}
    await _drain(provider, "orchestrator")
    waiter = await _waiting(provider, "orchestrator")
    started = time.monotonic()
    await provider.enqueue_message(event_message("a", "timer"), visible_at_ms=now_ms() + 300)
    await _ends_early(waiter)
    while "a" not in await fetch_all(provider):
        await provider.wait_for_work("orchestrator", LONG_WAIT_MS)
        assert time.monotonic() - started < EARLY_S, "the timer did not wake the wait"
