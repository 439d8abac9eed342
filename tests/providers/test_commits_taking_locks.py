"""A turn run without its instance's lock, whose commit takes the lock itself only if the instance
is as the turn assumed (``TurnCommit.take_lock``, ``commit_turns_leasing``)."""

from __future__ import annotations

from typing import Any

from duroxide_cli.history import (
    ActivityCompleted,
    ActivityScheduled,
    EventBody,
    OrchestrationCompleted,
    OrchestrationStarted,
)
from duroxide_cli.providers.base import (
    ActivityLease,
    ActivityWork,
    CommitResult,
    HeldWork,
    InstanceUpdate,
    OutgoingMessage,
    Provider,
    TakeLock,
    TurnCommit,
)

from .builders import LONG_LOCK_MS, activity, completion, create, event_message, events, fetch_all, fetch_one, turn

STARTED = OrchestrationStarted("Flow", "1.0.0")


async def _scheduled(provider: Provider, instance_id: str = "a") -> ActivityWork:
    """An instance whose first turn scheduled activity 2 ("A"), leased to "me"; two events stored."""
    await create(provider, instance_id)
    work = await fetch_one(provider, instance_id)
    [result] = await provider.commit_turns_leasing([
        turn(work, STARTED, ActivityScheduled("A", None), activities=[activity(2, "A")],
             lease_activities=ActivityLease("me", 30_000, 1))
    ])
    [leased] = result.leased
    return leased


async def _incarnation(provider: Provider, instance_id: str = "a") -> str:
    record = await provider.get_instance(instance_id)
    assert record is not None
    return record.incarnation


def _free_turn(
    instance_id: str, incarnation: str, history_len: int, *bodies: EventBody, execution_id: int = 1, **fields: Any
) -> TurnCommit:
    """A turn appending ``bodies`` after ``history_len`` events, taking the instance's lock itself."""
    return TurnCommit(
        instance_id=instance_id,
        lock_token="",
        execution_id=execution_id,
        new_events=events(history_len + 1, *bodies),
        consumed_message_ids=[],
        take_lock=TakeLock(incarnation, history_len),
        **{"instance": InstanceUpdate("Running", "1.0.0"), **fields},
    )


async def _result_turn(provider: Provider, leased: ActivityWork, history_len: int = 2, **fields: Any) -> CommitResult:
    """The free turn that records ``leased``'s result and schedules activity 4 ("B"), leasing it."""
    held = HeldWork(leased.work_id, leased.lock_token)
    incarnation = fields.pop("incarnation", None) or await _incarnation(provider, leased.instance_id)
    [result] = await provider.commit_turns_leasing([
        _free_turn(
            leased.instance_id, incarnation, history_len, ActivityCompleted(2, "done"), ActivityScheduled("B", None),
            completed_work=[held], lease_activities=ActivityLease("me", 30_000, 1),
            **{"activities": [activity(4, "B")], **fields},
        )
    ])
    return result


async def _nothing_written(provider: Provider, leased: ActivityWork, events_stored: int = 2) -> None:
    assert len(await provider.read_history("a")) == events_stored
    assert await provider.renew_activity_lock(leased.work_id, leased.lock_token, 30_000), "the work is still held"


# -- committed --------------------------------------------------------------------------------------


async def test_a_turn_taking_the_lock_of_a_free_instance_commits(provider):
    leased = await _scheduled(provider)
    result = await _result_turn(provider, leased)
    assert result.outcome == "committed" and [w.activity.name for w in result.leased] == ["B"]
    history = await provider.read_history("a")
    assert [e.kind for e in history[2:]] == ["ActivityCompleted", "ActivityScheduled"]
    assert await provider.complete_activities([completion(leased)]) == [False], "its work went with the turn"
    depths = await provider.queue_depths()
    assert (depths.orchestrator, depths.worker) == (0, 1)


async def test_a_turn_taking_the_lock_leases_at_most_its_limit_and_queues_the_rest(provider):
    leased = await _scheduled(provider)
    result = await _result_turn(provider, leased, activities=[activity(4, "B"), activity(5, "C"), activity(6, "D")])
    assert result.outcome == "committed" and [w.activity.name for w in result.leased] == ["B"]
    queued = await provider.fetch_activity_work(10, 30_000, "other")
    assert [w.activity.name for w in queued] == ["C", "D"] and [w.delivery_count for w in queued] == [1, 1]


async def test_a_turn_taking_the_lock_that_ends_the_execution_leases_nothing_and_clears_its_work(provider):
    leased = await _scheduled(provider)
    held = HeldWork(leased.work_id, leased.lock_token)
    [result] = await provider.commit_turns_leasing([
        _free_turn("a", await _incarnation(provider), 2, ActivityCompleted(2, "done"), ActivityScheduled("B", None),
                   OrchestrationCompleted("done"), activities=[activity(4, "B")], completed_work=[held],
                   lease_activities=ActivityLease("me", 30_000, 1),
                   instance=InstanceUpdate("Completed", "1.0.0", output="done"))
    ])
    assert result == CommitResult("committed")
    record = await provider.get_instance("a")
    assert record is not None and (record.status, record.output) == ("Completed", "done")
    [execution] = await provider.list_executions("a")
    assert (execution.status, execution.event_count) == ("Completed", 5) and execution.ended_at_ms is not None
    depths = await provider.queue_depths()
    assert (depths.orchestrator, depths.worker) == (0, 0), "the end removed the execution's activity work"


async def test_a_turn_taking_the_lock_that_also_sends_a_message_commits_it(provider):
    leased = await _scheduled(provider)
    await create(provider, "b")
    result = await _result_turn(provider, leased, messages=[OutgoingMessage(event_message("b", "hi"))])
    assert result.outcome == "committed" and [w.activity.name for w in result.leased] == ["B"]
    work = await fetch_one(provider, "b")
    assert [type(m.message.body).__name__ for m in work.messages] == ["OrchestrationStarted", "EventRaised"]


async def test_the_lock_a_commit_takes_is_released_by_it(provider):
    leased = await _scheduled(provider)
    assert (await _result_turn(provider, leased)).outcome == "committed"
    locked = await provider.lock_instance("a", LONG_LOCK_MS, "other", {})
    assert locked is not None and locked.history_after == 0 and len(locked.history) == 4
    record = await provider.get_instance("a")
    assert record is not None and record.status == "Running"


async def test_a_turn_takes_over_an_expired_lock_and_fences_its_holder_out(provider, clock):
    leased = await _scheduled(provider)
    stale = await provider.lock_instance("a", 100, "other", {})
    assert stale is not None
    clock.advance(101)
    assert (await _result_turn(provider, leased)).outcome == "committed"
    assert await provider.commit_turns([turn(stale, ActivityCompleted(2, "late"))]) == ["lock_lost"]
    assert len(await provider.read_history("a")) == 4


async def test_a_message_not_yet_visible_does_not_stop_the_turn(provider, clock):
    leased = await _scheduled(provider)
    await provider.enqueue_message(event_message("a", "later"), visible_at_ms=clock.now_ms() + 60_000)
    assert (await _result_turn(provider, leased)).outcome == "committed"
    assert (await provider.queue_depths()).timer == 1, "the later message stays queued"


# -- refused ----------------------------------------------------------------------------------------


async def test_a_visible_message_refuses_the_turn(provider):
    leased = await _scheduled(provider)
    await provider.enqueue_message(event_message("a", "meanwhile"))
    assert await _result_turn(provider, leased) == CommitResult("lock_lost")
    await _nothing_written(provider, leased)
    # the instance was not locked by the refused commit: the event is fetched as usual, once
    [work] = (await fetch_all(provider)).values()
    assert [m.delivery_count for m in work.messages] == [1]


async def test_a_live_lock_refuses_the_turn(provider):
    leased = await _scheduled(provider)
    locked = await provider.lock_instance("a", LONG_LOCK_MS, "other", {})
    assert locked is not None
    assert await _result_turn(provider, leased) == CommitResult("lock_lost")
    await _nothing_written(provider, leased)
    assert await provider.commit_turns([turn(locked, ActivityCompleted(2, "x"))]) == ["committed"], "the holder keeps it"


async def test_a_back_off_refuses_the_turn(provider, clock):
    leased = await _scheduled(provider)
    locked = await provider.lock_instance("a", LONG_LOCK_MS, "other", {})
    assert locked is not None
    await provider.abandon_orchestration("a", locked.lock_token, delay_ms=1000, count_delivery=False)
    assert await _result_turn(provider, leased) == CommitResult("lock_lost")
    clock.advance(1001)
    assert (await _result_turn(provider, leased)).outcome == "committed"


async def test_history_past_what_the_turn_assumed_refuses_it(provider):
    leased = await _scheduled(provider)
    locked = await provider.lock_instance("a", LONG_LOCK_MS, "other", {})
    assert locked is not None
    assert await provider.commit_turns([turn(locked, ActivityScheduled("C", None), activities=[activity(3, "C")])]) == [
        "committed"
    ]
    assert await _result_turn(provider, leased) == CommitResult("lock_lost")
    await _nothing_written(provider, leased, events_stored=3)
    # the same turn, assuming what the store holds, commits
    held = HeldWork(leased.work_id, leased.lock_token)
    [result] = await provider.commit_turns_leasing([
        _free_turn("a", await _incarnation(provider), 3, ActivityCompleted(2, "done"), completed_work=[held])
    ])
    assert result.outcome == "committed"


async def test_another_incarnation_refuses_the_turn(provider):
    leased = await _scheduled(provider)
    old = await _incarnation(provider)
    await provider.delete_instances(["a"])
    again = await _scheduled(provider)
    assert await _result_turn(provider, again, incarnation=old) == CommitResult("lock_lost")
    await _nothing_written(provider, again)
    assert leased.work_id != again.work_id


async def test_another_execution_refuses_the_turn(provider):
    leased = await _scheduled(provider)
    assert await _result_turn(provider, leased, execution_id=2) == CommitResult("lock_lost")
    await _nothing_written(provider, leased)


async def test_a_finished_or_missing_instance_refuses_the_turn(provider):
    await _scheduled(provider)
    incarnation = await _incarnation(provider)
    locked = await provider.lock_instance("a", LONG_LOCK_MS, "other", {})
    assert locked is not None
    # ended without an event of its own (as the runtime fails an instance with an unreadable row)
    ending = turn(locked, status="Failed", update=InstanceUpdate("Failed", "1.0.0", error="x"))
    assert await provider.commit_turns([ending]) == ["committed"]
    [result] = await provider.commit_turns_leasing([_free_turn("a", incarnation, 2, ActivityCompleted(2, "done"))])
    assert result == CommitResult("lock_lost")
    [result] = await provider.commit_turns_leasing([_free_turn("nobody", incarnation, 0, STARTED)])
    assert result == CommitResult("lock_lost")


async def test_a_lost_activity_lease_refuses_the_turn_and_leaves_the_instance_free(provider, clock):
    leased = await _scheduled(provider)
    clock.advance(30_001)
    [taken] = await provider.fetch_activity_work(10, 30_000, "other")
    assert await _result_turn(provider, leased) == CommitResult("lock_lost")
    assert len(await provider.read_history("a")) == 2
    assert await provider.complete_activities([completion(taken)]) == [True], "the new holder's work is intact"
    assert "a" in await fetch_all(provider), "no lock was left behind"


async def test_turns_of_a_batch_are_judged_each_alone(provider):
    first = await _scheduled(provider, "a")
    second = await _scheduled(provider, "b")
    await provider.enqueue_message(event_message("b", "meanwhile"))
    held_a, held_b = HeldWork(first.work_id, first.lock_token), HeldWork(second.work_id, second.lock_token)
    results = await provider.commit_turns_leasing([
        _free_turn("b", await _incarnation(provider, "b"), 2, ActivityCompleted(2, "b"), completed_work=[held_b]),
        _free_turn("a", await _incarnation(provider, "a"), 2, ActivityCompleted(2, "a"), completed_work=[held_a]),
    ])
    assert [r.outcome for r in results] == ["lock_lost", "committed"]
    assert len(await provider.read_history("a")) == 3 and len(await provider.read_history("b")) == 2
