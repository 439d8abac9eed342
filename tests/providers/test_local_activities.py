"""Activities that stay in the committing process: a turn that leases the activities it schedules
to its caller, a turn that carries an activity's result and removes its work, and locking one
instance without a visible message (``commit_turns_leasing``, ``lock_instance``)."""

from __future__ import annotations

import asyncio

from duroxide_cli.history import (
    ActivityCompleted,
    ActivityScheduled,
    EventRaised,
    OrchestrationStarted,
)
from duroxide_cli.providers.base import ActivityLease, CommitResult, HeldWork, KnownHistory

from .builders import LONG_LOCK_MS, activity, completion, create, event_message, fetch_all, fetch_one, turn

STARTED = OrchestrationStarted("Flow", "1.0.0")


def _lease(limit: int, owner: str = "me") -> ActivityLease:
    return ActivityLease(owner, 30_000, limit)


async def _schedule_leased(provider, *names: str, limit: int, instance_id: str = "a") -> CommitResult:
    """A first turn that schedules one activity per name (event ids 2, 3, ...), leasing ``limit``."""
    await create(provider, instance_id)
    work = await fetch_one(provider, instance_id)
    bodies = [ActivityScheduled(name, None) for name in names]
    new = [activity(2 + index, name) for index, name in enumerate(names)]
    [result] = await provider.commit_turns_leasing(
        [turn(work, STARTED, *bodies, activities=new, lease_activities=_lease(limit))]
    )
    return result


async def _result_turn(provider, work, leased, result="done", *, lock_token=None):
    """The turn that records ``leased``'s result (delivered in memory) and removes its work."""
    completed = ActivityCompleted(leased.activity.event_id, result)
    held = HeldWork(leased.work_id, lock_token or leased.lock_token)
    [outcome] = await provider.commit_turns_leasing([turn(work, completed, completed_work=[held])])
    return outcome


# -- leasing on commit ------------------------------------------------------------------------------


async def test_a_turn_commit_leases_the_first_activities_it_schedules_to_its_caller(provider):
    result = await _schedule_leased(provider, "A", "B", "C", limit=2)
    assert result.outcome == "committed"
    assert [w.activity for w in result.leased] == [activity(2, "A"), activity(3, "B")]
    assert all(w.instance_id == "a" and w.delivery_count == 1 for w in result.leased)
    assert len({w.lock_token for w in result.leased}) == 2
    # the rest stay queued for any fetch; the leased ones are not fetched again
    assert [w.activity.name for w in await provider.fetch_activity_work(10, 30_000, "other")] == ["C"]
    assert (await provider.queue_depths()).worker == 3


async def test_a_leased_activity_is_held_by_its_token_like_a_fetched_one(provider, clock):
    [leased] = (await _schedule_leased(provider, "A", limit=1)).leased
    assert await provider.renew_activity_lock(leased.work_id, leased.lock_token, 30_000)
    assert await provider.complete_activities([completion(leased, 7)]) == [True]
    [message] = (await fetch_one(provider, "a")).messages
    assert message.message.body == ActivityCompleted(2, 7)


async def test_a_leased_activity_whose_lease_expires_is_fetched_by_others(provider, clock):
    [leased] = (await _schedule_leased(provider, "A", limit=1)).leased
    assert await provider.fetch_activity_work(10, 30_000, "other") == []
    clock.advance(30_001)
    [again] = await provider.fetch_activity_work(10, 30_000, "other")
    assert (again.work_id, again.delivery_count) == (leased.work_id, 2)
    assert await provider.complete_activities([completion(leased)]) == [False]


async def test_a_lease_of_zero_queues_every_activity(provider):
    result = await _schedule_leased(provider, "A", "B", limit=0)
    assert result == CommitResult("committed", ())
    assert len(await provider.fetch_activity_work(10, 30_000, "w")) == 2


async def test_a_refused_turn_leases_and_queues_nothing(provider, clock):
    await create(provider, "a")
    work = await fetch_one(provider, "a", lock_timeout_ms=100)
    clock.advance(101)
    scheduled = turn(work, STARTED, ActivityScheduled("A", None), activities=[activity(2, "A")], lease_activities=_lease(1))
    assert await provider.commit_turns_leasing([scheduled]) == [CommitResult("lock_lost")]
    assert (await provider.queue_depths()).worker == 0


async def test_a_turn_that_ends_its_execution_leases_nothing(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    ending = turn(
        work, STARTED, ActivityScheduled("A", None), status="Completed",
        activities=[activity(2, "A")], lease_activities=_lease(1),
    )
    assert await provider.commit_turns_leasing([ending]) == [CommitResult("committed", ())]
    assert (await provider.queue_depths()).worker == 0


async def test_commit_turns_commits_a_leasing_turn_too(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    scheduled = turn(work, STARTED, ActivityScheduled("A", None), activities=[activity(2, "A")], lease_activities=_lease(1))
    assert await provider.commit_turns([scheduled]) == ["committed"]
    assert [e.kind for e in await provider.read_history("a")] == ["OrchestrationStarted", "ActivityScheduled"]


# -- a turn that carries an activity's result -----------------------------------------------------


async def test_a_turn_carrying_a_result_appends_it_and_removes_the_work(provider):
    [leased] = (await _schedule_leased(provider, "A", limit=1)).leased
    work = await provider.lock_instance("a", LONG_LOCK_MS, "me", {})
    assert work is not None and work.messages == []
    outcome = await _result_turn(provider, work, leased, {"ok": 1})
    assert outcome == CommitResult("committed", ())
    history = await provider.read_history("a")
    assert history[-1].body == ActivityCompleted(2, {"ok": 1})
    depths = await provider.queue_depths()
    assert (depths.worker, depths.orchestrator) == (0, 0), "the result was not queued as a message too"
    assert await provider.complete_activities([completion(leased)]) == [False]


async def test_a_turn_whose_activity_lease_moved_on_is_refused_and_writes_nothing(provider, clock):
    [leased] = (await _schedule_leased(provider, "A", limit=1)).leased
    clock.advance(30_001)
    [taken] = await provider.fetch_activity_work(10, 30_000, "other")
    work = await provider.lock_instance("a", LONG_LOCK_MS, "me", {})
    assert work is not None
    assert await _result_turn(provider, work, leased) == CommitResult("lock_lost")
    assert [e.kind for e in await provider.read_history("a")] == ["OrchestrationStarted", "ActivityScheduled"]
    assert await provider.complete_activities([completion(taken)]) == [True], "the new holder's work is intact"
    # the instance's lock stays with its caller, who releases it
    assert await fetch_all(provider) == {}
    await provider.abandon_orchestration("a", work.lock_token, count_delivery=False)
    assert "a" in await fetch_all(provider)


async def test_a_turn_carrying_the_result_of_finished_work_is_refused(provider):
    [leased] = (await _schedule_leased(provider, "A", limit=1)).leased
    assert await provider.complete_activities([completion(leased)]) == [True]
    work = await fetch_one(provider, "a")
    assert await _result_turn(provider, work, leased) == CommitResult("lock_lost")
    assert len(await provider.read_history("a")) == 2


async def test_a_turn_carrying_a_result_with_another_token_is_refused(provider):
    [leased] = (await _schedule_leased(provider, "A", limit=1)).leased
    work = await provider.lock_instance("a", LONG_LOCK_MS, "me", {})
    assert await _result_turn(provider, work, leased, lock_token="stale") == CommitResult("lock_lost")
    assert await provider.renew_activity_lock(leased.work_id, leased.lock_token, 30_000), "the work is still held"


async def test_a_turn_carrying_two_results_one_of_them_lost_removes_neither(provider):
    first, second = (await _schedule_leased(provider, "A", "B", limit=2)).leased
    assert await provider.complete_activities([completion(second)]) == [True]
    work = await fetch_one(provider, "a")
    both = [ActivityCompleted(2, "a"), ActivityCompleted(3, "b")]
    held = [HeldWork(first.work_id, first.lock_token), HeldWork(second.work_id, second.lock_token)]
    [outcome] = await provider.commit_turns_leasing([turn(work, *both, completed_work=held)])
    assert outcome == CommitResult("lock_lost")
    assert len(await provider.read_history("a")) == 3, "nothing of the refused turn was written"
    assert await provider.renew_activity_lock(first.work_id, first.lock_token, 30_000), "the first work is still held"


async def test_a_result_turn_also_consumes_the_messages_its_lock_found(provider):
    [leased] = (await _schedule_leased(provider, "A", limit=1)).leased
    await provider.enqueue_message(event_message("a", "meanwhile"))
    work = await provider.lock_instance("a", LONG_LOCK_MS, "me", {})
    assert work is not None and [m.message.body for m in work.messages] == [EventRaised("meanwhile", None)]
    assert (await _result_turn(provider, work, leased)).outcome == "committed"
    assert (await provider.queue_depths()).orchestrator == 0


async def test_a_result_turn_may_lease_the_next_activity(provider):
    [first] = (await _schedule_leased(provider, "A", limit=1)).leased
    work = await provider.lock_instance("a", LONG_LOCK_MS, "me", {})
    bodies = (ActivityCompleted(2, 1), ActivityScheduled("B", None))
    [result] = await provider.commit_turns_leasing([
        turn(work, *bodies, activities=[activity(4, "B")], completed_work=[HeldWork(first.work_id, first.lock_token)],
             lease_activities=_lease(1))
    ])
    assert result.outcome == "committed" and [w.activity.name for w in result.leased] == ["B"]
    assert (await provider.queue_depths()).worker == 1


# -- locking one instance ---------------------------------------------------------------------------


async def test_lock_instance_locks_an_instance_with_nothing_queued(provider):
    await _schedule_leased(provider, "A", limit=1)
    work = await provider.lock_instance("a", LONG_LOCK_MS, "me", {})
    assert work is not None
    assert (work.instance.instance_id, work.instance.status, work.history_after) == ("a", "Running", 0)
    assert [e.kind for e in work.history] == ["OrchestrationStarted", "ActivityScheduled"]
    await provider.enqueue_message(event_message("a"))
    assert await fetch_all(provider) == {}, "a locked instance is not fetched"
    assert await provider.lock_instance("a", LONG_LOCK_MS, "me", {}) is None


async def test_lock_instance_sends_only_the_history_the_caller_lacks(provider):
    await _schedule_leased(provider, "A", limit=1)
    record = await provider.get_instance("a")
    assert record is not None
    known = {"a": KnownHistory(record.incarnation, 1, 2)}
    work = await provider.lock_instance("a", LONG_LOCK_MS, "me", known)
    assert work is not None and (work.history_after, work.history) == (2, [])


async def test_lock_instance_counts_a_delivery_on_the_visible_messages(provider):
    await _schedule_leased(provider, "A", limit=1)
    await provider.enqueue_message(event_message("a"))
    work = await provider.lock_instance("a", LONG_LOCK_MS, "me", {})
    assert work is not None and [m.delivery_count for m in work.messages] == [1]
    await provider.abandon_orchestration("a", work.lock_token)
    assert [m.delivery_count for m in (await fetch_one(provider, "a")).messages] == [2]


async def test_lock_instance_refuses_a_missing_locked_or_backed_off_instance(provider, clock):
    assert await provider.lock_instance("nobody", LONG_LOCK_MS, "me", {}) is None
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    assert await provider.lock_instance("a", LONG_LOCK_MS, "me", {}) is None
    await provider.abandon_orchestration("a", work.lock_token, delay_ms=1000)
    assert await provider.lock_instance("a", LONG_LOCK_MS, "me", {}) is None
    clock.advance(1001)
    assert await provider.lock_instance("a", LONG_LOCK_MS, "me", {}) is not None


async def test_lock_instance_takes_an_instance_whose_lock_expired(provider, clock):
    await create(provider, "a")
    stale = await fetch_one(provider, "a", lock_timeout_ms=100)
    clock.advance(101)
    work = await provider.lock_instance("a", LONG_LOCK_MS, "me", {})
    assert work is not None and work.lock_token != stale.lock_token
    assert await provider.commit_turns([turn(stale, STARTED)]) == ["lock_lost"]


async def test_lock_instance_takes_a_finished_instance_like_any_other(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    assert await provider.commit_turns([turn(work, STARTED, status="Completed")]) == ["committed"]
    locked = await provider.lock_instance("a", LONG_LOCK_MS, "me", {})
    assert locked is not None and locked.instance.status == "Completed"
    assert await provider.drop_messages("a", locked.lock_token, [])


async def test_lock_instance_calls_made_at_once_each_answer_for_their_own_instance(provider):
    """Calls made together (a store may send them in one statement) behave as one by one: each
    instance is locked by one caller only, with its own history and messages."""
    for instance_id in ("a", "b", "c"):
        await _schedule_leased(provider, "A", limit=1, instance_id=instance_id)
    await provider.enqueue_message(event_message("b", "for-b"))
    record = await provider.get_instance("c")
    known = {"c": KnownHistory(record.incarnation, 1, 2)}
    calls = [("b", {}), ("a", {}), ("a", {}), ("c", known), ("nobody", {})]
    works = await asyncio.gather(*(provider.lock_instance(i, LONG_LOCK_MS, "me", k) for i, k in calls))
    b, a_first, a_again, c, nobody = works
    assert [w is None for w in (a_first, a_again)].count(True) == 1, "one of the two calls for a gets it"
    a = a_first or a_again
    assert a is not None and (a.instance.instance_id, len(a.history), a.messages) == ("a", 2, [])
    assert b is not None and [m.message.body for m in b.messages] == [EventRaised("for-b", None)]
    assert c is not None and (c.instance.instance_id, c.history_after, c.history) == ("c", 2, [])
    assert nobody is None
    assert len({a.lock_token, b.lock_token, c.lock_token}) == 3
    assert await fetch_all(provider) == {}, "all three are locked"
