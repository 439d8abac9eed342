"""The rules of ``providers/base.py``'s module docstring that hold across methods: the store
clock, faults, finished instances, missing instances and kept executions."""

from __future__ import annotations

import pytest

from duroxide_cli.errors import ProviderError
from duroxide_cli.history import (
    ActivityScheduled,
    ContinuedAsNew,
    EventRaised,
    OrchestrationCompleted,
    OrchestrationStarted,
)
from duroxide_cli.messages import Message
from duroxide_cli.providers.base import InstanceStart, InstanceUpdate, OutgoingMessage

from .builders import activity, completion, create, event_message, fetch_all, fetch_one, start_message, turn

STARTED = OrchestrationStarted("Flow", "1.0.0")
DAY_MS = 86_400_000


async def _complete(provider, instance_id: str) -> None:
    work = await fetch_one(provider, instance_id)
    update = InstanceUpdate("Completed", "1.0.0", output="done")
    assert await provider.commit_turns([turn(work, STARTED, OrchestrationCompleted("done"), update=update)]) == [
        "committed"
    ]


async def test_the_store_stamps_rows_with_the_injected_clock(provider, clock):
    clock.advance(DAY_MS)
    await create(provider, "a")
    record = await provider.get_instance("a")
    assert record is not None
    assert abs(record.created_at_ms - clock.now_ms()) < 60_000
    [execution] = await provider.list_executions("a")
    assert abs(execution.started_at_ms - clock.now_ms()) < 60_000


async def test_visibility_is_judged_by_the_store_clock_not_the_callers(provider, clock):
    await create(provider, "a")
    await _complete(provider, "a")
    clock.advance(DAY_MS)
    due_in_an_hour_by_the_wall_clock = clock.now_ms() - DAY_MS + 3_600_000
    await provider.enqueue_message(event_message("a", "timer"), visible_at_ms=due_in_an_hour_by_the_wall_clock)
    assert "a" in await fetch_all(provider)


async def test_a_closed_store_raises_a_provider_error_that_is_not_retryable(store):
    provider = await store.open()
    await provider.close()
    with pytest.raises(ProviderError) as raised:
        await provider.get_instance("a")
    assert raised.value.operation == "get_instance"
    assert not raised.value.retryable


async def test_a_finished_instance_with_messages_is_fetched_with_them(provider):
    await create(provider, "a")
    await _complete(provider, "a")
    await provider.enqueue_message(event_message("a", "late"))
    work = await fetch_one(provider, "a")
    assert work.instance.status == "Completed"
    assert [m.message.body for m in work.messages] == [EventRaised("late", None)]
    assert await provider.drop_messages("a", work.lock_token, [m.message_id for m in work.messages])
    assert await fetch_all(provider) == {}


async def test_an_on_conflict_message_to_a_deleted_instance_is_dropped_and_the_turn_commits(provider):
    await create(provider, "taken")
    await create(provider, "starter")
    found = await fetch_all(provider)
    work = found["starter"]
    await provider.abandon_orchestration("taken", found["taken"].lock_token)
    conflict = Message("gone", EventRaised("conflict", None))
    start = InstanceStart(start_message("taken"), on_conflict=conflict)
    assert await provider.commit_turns([turn(work, STARTED, starts=[start])]) == ["committed"]
    assert await provider.get_instance("gone") is None
    assert sorted(await fetch_all(provider)) == ["taken"]


async def test_an_activity_result_for_a_deleted_instance_is_refused(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    await provider.commit_turns([turn(work, STARTED, ActivityScheduled("Charge"), activities=[activity(2)])])
    [item] = await provider.fetch_activity_work(10, 30_000, "w")
    assert await provider.delete_instances(["a"]) == 1
    assert await provider.complete_activities([completion(item)]) == [False]
    assert await provider.get_instance("a") is None
    depths = await provider.queue_depths()
    assert (depths.orchestrator, depths.worker, depths.timer) == (0, 0, 0)


async def test_ended_executions_and_their_histories_are_kept(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    fresh = Message("a", OrchestrationStarted("Flow", "1.0.0", 2), 2)
    can = turn(work, STARTED, ContinuedAsNew(2), messages=[OutgoingMessage(fresh)], next_execution_id=2)
    assert await provider.commit_turns([can]) == ["committed"]
    await _complete(provider, "a")
    executions = await provider.list_executions("a")
    assert [(e.execution_id, e.status, e.event_count) for e in executions] == [(1, "Completed", 2), (2, "Completed", 2)]
    assert all(e.ended_at_ms is not None for e in executions)
    assert [e.kind for e in await provider.read_history("a", 1)] == ["OrchestrationStarted", "ContinuedAsNew"]
