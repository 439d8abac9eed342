"""Batches of turns: each turn of a batch is committed or refused on its own, exactly as it would
be alone, whatever else the batch holds (a store may commit a batch differently from one turn)."""

from __future__ import annotations

import dataclasses

from duroxide_cli.history import (
    ActivityCompleted,
    ActivityScheduled,
    EventRaised,
    FailureDetails,
    OrchestrationCompleted,
    OrchestrationFailed,
    OrchestrationStarted,
    SubOrchestrationScheduled,
)
from duroxide_cli.providers.base import (
    ActivityLease,
    CommitResult,
    HeldWork,
    InstanceStart,
    InstanceUpdate,
    TakeLock,
    TurnCommit,
)

from .builders import (
    LONG_LOCK_MS,
    activity,
    completion,
    create,
    event_message,
    events,
    fetch_all,
    start_message,
    turn,
)

STARTED = OrchestrationStarted("Flow", "1.0.0")


def _lease(limit: int) -> ActivityLease:
    return ActivityLease("me", 30_000, limit)


async def _first_turns(provider, *instance_ids: str, names: tuple[str, ...] = ("A",)) -> dict[str, CommitResult]:
    """Create, fetch and commit the first turn of each instance in one batch, each scheduling one
    activity per name (event ids 2, 3, ...) and leasing all of them."""
    for instance_id in instance_ids:
        await create(provider, instance_id)
    works = await fetch_all(provider)
    bodies = [ActivityScheduled(name, None) for name in names]
    new = [activity(2 + index, name) for index, name in enumerate(names)]
    turns = [
        turn(works[i], STARTED, *bodies, activities=new, lease_activities=_lease(len(names))) for i in instance_ids
    ]
    return dict(zip(instance_ids, await provider.commit_turns_leasing(turns), strict=True))


async def test_each_turn_of_a_batch_leases_its_own_activities_in_order(provider):
    for instance_id in ("a", "b"):
        await create(provider, instance_id)
    works = await fetch_all(provider)
    three = [ActivityScheduled(name, None) for name in ("A", "B", "C")]
    results = await provider.commit_turns_leasing([
        turn(works["a"], STARTED, *three, activities=[activity(2, "A"), activity(3, "B"), activity(4, "C")],
             lease_activities=_lease(2)),
        turn(works["b"], STARTED, ActivityScheduled("X", None), activities=[activity(2, "X")], lease_activities=_lease(1)),
    ])
    assert [r.outcome for r in results] == ["committed", "committed"]
    assert [(w.instance_id, w.activity.name) for w in results[0].leased] == [("a", "A"), ("a", "B")]
    assert [(w.instance_id, w.activity.name) for w in results[1].leased] == [("b", "X")]
    assert [w.activity.name for w in await provider.fetch_activity_work(10, 30_000, "other")] == ["C"]


async def test_a_batch_refuses_only_the_turn_whose_result_lost_its_lease(provider, clock):
    first = await _first_turns(provider, "a", "b", "c")
    [held_a], [held_b], [held_c] = first["a"].leased, first["b"].leased, first["c"].leased
    assert await provider.complete_activities([completion(held_b)]) == [True]  # b's lease is spent
    locked = {i: await provider.lock_instance(i, LONG_LOCK_MS, "me", {}) for i in ("a", "c")}
    b_work = (await fetch_all(provider))["b"]  # b has its result queued as a message
    results = await provider.commit_turns_leasing([
        turn(locked["a"], ActivityCompleted(2, "ra"), completed_work=[HeldWork(held_a.work_id, held_a.lock_token)]),
        turn(b_work, ActivityCompleted(2, "rb"), completed_work=[HeldWork(held_b.work_id, held_b.lock_token)]),
        turn(locked["c"], ActivityCompleted(2, "rc"), OrchestrationCompleted("done"), status="Completed",
             completed_work=[HeldWork(held_c.work_id, held_c.lock_token)]),
    ])
    assert [r.outcome for r in results] == ["committed", "lock_lost", "committed"]
    assert [len(await provider.read_history(i)) for i in ("a", "b", "c")] == [3, 2, 4]
    assert (await provider.get_instance("c")).status == "Completed"
    assert [(e.execution_id, e.status) for e in await provider.list_executions("c")] == [(1, "Completed")]
    assert await provider.complete_activities([completion(held_a), completion(held_c)]) == [False, False]
    # b's turn wrote nothing: its lock is still its caller's, its message still queued
    await provider.abandon_orchestration("b", b_work.lock_token, count_delivery=False)
    [message] = (await fetch_all(provider))["b"].messages
    assert message.message.body == ActivityCompleted(2, "done")


async def test_a_batch_refuses_only_the_turn_whose_event_ids_are_taken(provider):
    await _first_turns(provider, "a")
    await create(provider, "b")
    a_work = await provider.lock_instance("a", LONG_LOCK_MS, "me", {})
    b_work = (await fetch_all(provider))["b"]
    written_again = dataclasses.replace(turn(a_work, ActivityCompleted(2, 1)), new_events=events(2, ActivityCompleted(2, 1)))
    outcomes = await provider.commit_turns([written_again, turn(b_work, STARTED)])
    assert outcomes == ["lock_lost", "committed"]
    assert [e.kind for e in await provider.read_history("a")] == ["OrchestrationStarted", "ActivityScheduled"]
    assert [e.kind for e in await provider.read_history("b")] == ["OrchestrationStarted"]


async def test_a_batch_refuses_a_stale_turn_and_commits_the_others(provider, clock):
    await create(provider, "a")
    stale = (await fetch_all(provider, lock_timeout_ms=100))["a"]
    clock.advance(300)
    await create(provider, "b")
    works = await fetch_all(provider)
    assert set(works) == {"a", "b"}
    outcomes = await provider.commit_turns([turn(stale, STARTED), turn(works["b"], STARTED), turn(works["a"], STARTED)])
    assert outcomes == ["lock_lost", "committed", "committed"]
    assert [len(await provider.read_history(i)) for i in ("a", "b")] == [1, 1]


async def test_a_batch_mixing_a_start_with_plain_turns_commits_them_all(provider):
    for instance_id in ("a", "b"):
        await create(provider, instance_id)
    works = await fetch_all(provider)
    child = InstanceStart(start_message("a::child", parent_instance_id="a"))
    outcomes = await provider.commit_turns([
        turn(works["a"], STARTED, SubOrchestrationScheduled("Child", "a::child", None), starts=[child]),
        turn(works["b"], STARTED, OrchestrationCompleted(1), status="Completed"),
    ])
    assert outcomes == ["committed", "committed"]
    assert (await provider.get_instance("a::child")).parent_instance_id == "a"
    assert (await provider.get_instance("b")).status == "Completed"


async def test_a_batch_writes_every_part_of_each_turn_as_one_turn_alone_would(provider):
    for instance_id in ("a", "b", "c"):
        await create(provider, instance_id)
    await provider.enqueue_message(event_message("c", "early"))
    works = await fetch_all(provider)
    c_start = works["c"].messages[0].message_id  # c's turn takes its start and leaves the event
    results = await provider.commit_turns_leasing([
        turn(works["a"], STARTED, ActivityScheduled("A", None), ActivityScheduled("B", None),
             activities=[activity(2, "A"), activity(3, "B")], lease_activities=_lease(1)),
        turn(works["b"], STARTED, ActivityScheduled("Lost", None), OrchestrationFailed(_failure("boom")),
             activities=[activity(2, "Lost")], lease_activities=_lease(1),
             update=InstanceUpdate("Failed", "1.0.0", error="boom \u00e9\u2603", failure=_failure("boom"))),
        turn(works["c"], STARTED, consumed=[c_start], update=InstanceUpdate("Running", "1.0.0", custom_status={"at": 1})),
    ])
    assert [r.outcome for r in results] == ["committed"] * 3
    [leased_a] = results[0].leased
    assert leased_a.activity.name == "A" and results[1].leased == () and results[2].leased == ()
    assert [e.kind for e in await provider.read_history("a")] == ["OrchestrationStarted", "ActivityScheduled", "ActivityScheduled"]
    b = await provider.get_instance("b")
    assert (b.status, b.error, b.failure) == ("Failed", "boom \u00e9\u2603", _failure("boom"))
    assert [(e.execution_id, e.status) for e in await provider.list_executions("b")] == [(1, "Failed")]
    assert (await provider.get_instance("c")).custom_status == {"at": 1}
    # b's end removed its activity; a's second activity is queued for anyone; c's event is free again
    assert [(w.instance_id, w.activity.name) for w in await provider.fetch_activity_work(10, 30_000, "other")] == [("a", "B")]
    again = await fetch_all(provider)
    assert list(again) == ["c"]
    assert [m.message.body for m in again["c"].messages] == [EventRaised("early", None)]

    # the next batch: a takes its lock with A's result and cancels B; c consumes its event and completes
    incarnation = (await provider.get_instance("a")).incarnation
    second = await provider.commit_turns_leasing([
        TurnCommit(
            instance_id="a", lock_token="", execution_id=1,
            new_events=events(4, ActivityCompleted(2, "ra"), OrchestrationCompleted("ok")),
            consumed_message_ids=[], instance=InstanceUpdate("Completed", "1.0.0", output="ok"),
            completed_work=[HeldWork(leased_a.work_id, leased_a.lock_token)], cancel_activities=[3],
            take_lock=TakeLock(incarnation, 3),
        ),
        turn(again["c"], EventRaised("early", None), OrchestrationCompleted(None), status="Completed"),
    ])
    assert [r.outcome for r in second] == ["committed", "committed"]
    a = await provider.get_instance("a")
    assert (a.status, a.output) == ("Completed", "ok")
    assert (await provider.get_instance("c")).status == "Completed"
    assert await provider.fetch_activity_work(10, 30_000, "other") == []
    assert await fetch_all(provider) == {}
    assert await provider.complete_activities([completion(leased_a)]) == [False]


async def test_a_batch_with_two_turns_of_one_instance_commits_only_the_first(provider):
    await create(provider, "a")
    await create(provider, "b")
    works = await fetch_all(provider)
    outcomes = await provider.commit_turns([
        turn(works["a"], STARTED), turn(works["b"], STARTED), turn(works["a"], STARTED),
    ])
    assert outcomes == ["committed", "committed", "lock_lost"]
    assert [len(await provider.read_history(i)) for i in ("a", "b")] == [1, 1]


def _failure(message: str) -> FailureDetails:
    return FailureDetails("RuntimeError", message)
