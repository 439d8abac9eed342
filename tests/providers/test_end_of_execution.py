"""The end of an execution: its queued work goes with it, and late messages leave the row alone."""

from __future__ import annotations

import asyncio

from duroxide_cli.history import (
    ActivityCompleted,
    ContinuedAsNew,
    OrchestrationCompleted,
    OrchestrationStarted,
    TimerCreated,
    TimerFired,
)
from duroxide_cli.messages import Message
from duroxide_cli.providers.base import OutgoingMessage

from .builders import create, event_message, fetch_all, fetch_one, now_ms, turn

STARTED = OrchestrationStarted("Flow", "1.0.0")
LATER_MS = 3_600_000


async def _running_with_a_timer(provider) -> None:
    """Instance "a", Running at execution 1 with a timer due in an hour."""
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    fire_at = now_ms() + LATER_MS
    timer = OutgoingMessage(Message("a", TimerFired(2, fire_at), 1), fire_at)
    await provider.commit_turns([turn(work, STARTED, TimerCreated(fire_at), messages=[timer])])


async def test_a_terminal_turn_removes_the_executions_queued_timers_and_completions(provider):
    await _running_with_a_timer(provider)
    await provider.enqueue_message(event_message("a", "go"))
    work = await fetch_one(provider, "a")
    await provider.enqueue_message(Message("a", ActivityCompleted(9, "late"), 1))  # arrives during the turn
    await provider.enqueue_message(event_message("a", "too late"))
    assert await provider.commit_turns([turn(work, OrchestrationCompleted(1), status="Completed")]) == ["committed"]

    depths = await provider.queue_depths()
    assert (depths.timer, depths.orchestrator) == (0, 1), "only the event (no execution) is left"
    work = await fetch_one(provider, "a")
    assert [q.message.body for q in work.messages] == [event_message("a", "too late").body]


async def test_continue_as_new_removes_the_old_executions_timers_but_not_the_new_start(provider):
    await _running_with_a_timer(provider)
    await provider.enqueue_message(event_message("a", "go"))
    work = await fetch_one(provider, "a")
    fresh = Message("a", OrchestrationStarted("Flow", "1.0.0", 2), 2)
    carried = event_message("a", "carried")
    can = turn(work, ContinuedAsNew(2), messages=[OutgoingMessage(fresh), OutgoingMessage(carried)], next_execution_id=2)
    assert await provider.commit_turns([can]) == ["committed"]

    assert (await provider.queue_depths()).timer == 0
    work = await fetch_one(provider, "a")
    assert [q.message for q in work.messages] == [fresh, carried]


async def test_dropped_messages_leave_the_instance_row_as_it_was(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    await provider.commit_turns([turn(work, STARTED, OrchestrationCompleted("done"), status="Completed")])
    finished = await provider.get_instance("a")
    await asyncio.sleep(0.01)  # a later millisecond, so a write to the row would show

    await provider.enqueue_message(event_message("a", "late"))
    work = await fetch_one(provider, "a")
    assert await provider.drop_messages("a", work.lock_token, [q.message_id for q in work.messages]) is True
    assert await provider.get_instance("a") == finished
    assert (await provider.queue_depths()).orchestrator == 0
    assert await fetch_all(provider) == {}


async def test_dropping_with_a_lease_that_moved_on_changes_nothing(provider):
    await create(provider, "a")
    stale = await fetch_one(provider, "a", lock_timeout_ms=50)
    await asyncio.sleep(0.2)
    current = await fetch_one(provider, "a")
    assert await provider.drop_messages("a", stale.lock_token, [q.message_id for q in stale.messages]) is False
    assert (await provider.queue_depths()).orchestrator == 1
    assert await provider.drop_messages("a", current.lock_token, [q.message_id for q in current.messages]) is True
    assert (await provider.queue_depths()).orchestrator == 0
