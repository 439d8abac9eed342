"""Committing turns: atomic writes, refused stale leases, starts, cancels and continue-as-new."""

from __future__ import annotations

import dataclasses

from duroxide_cli.history import (
    ActivityScheduled,
    ContinuedAsNew,
    CustomStatusSet,
    EventRaised,
    FailureDetails,
    OrchestrationCompleted,
    OrchestrationFailed,
    OrchestrationStarted,
    SubOrchestrationFailed,
    SubOrchestrationScheduled,
    TimerFired,
)
from duroxide_cli.messages import Message
from duroxide_cli.providers.base import InstanceStart, InstanceUpdate, KnownHistory, OutgoingMessage

from .builders import activity, create, event_message, fetch_all, fetch_one, now_ms, start_message, turn

STARTED = OrchestrationStarted("Flow", "1.0.0")


async def _running(provider, instance_id="a"):
    """An instance after its first turn (event 1), with nothing queued."""
    await create(provider, instance_id)
    work = await fetch_one(provider, instance_id)
    assert await provider.commit_turns([turn(work, STARTED)]) == ["committed"]


async def test_commit_appends_events_and_writes_the_instance_row(provider):
    await create(provider, "a", version=None)
    work = await fetch_one(provider, "a")
    update = InstanceUpdate("Running", "1.5.0", custom_status={"step": 1})
    assert await provider.commit_turns([turn(work, STARTED, CustomStatusSet({"step": 1}), update=update)]) == [
        "committed"
    ]
    record = await provider.get_instance("a")
    assert record is not None
    assert (record.status, record.version, record.custom_status) == ("Running", "1.5.0", {"step": 1})
    assert record.updated_at_ms >= record.created_at_ms
    history = await provider.read_history("a")
    assert [e.kind for e in history] == ["OrchestrationStarted", "CustomStatusSet"]
    assert history[1].body == CustomStatusSet({"step": 1})


async def test_commit_releases_the_lock_and_removes_consumed_messages(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    await provider.commit_turns([turn(work, STARTED)])
    assert await fetch_all(provider) == {}
    assert (await provider.queue_depths()).orchestrator == 0
    await provider.enqueue_message(event_message("a"))
    assert "a" in await fetch_all(provider), "the lock was released"


async def test_unconsumed_messages_stay_queued(provider):
    await create(provider, "a")
    await provider.enqueue_message(event_message("a", "kept"))
    work = await fetch_one(provider, "a")
    started, kept = work.messages
    await provider.commit_turns([turn(work, STARTED, consumed=[started.message_id])])
    work = await fetch_one(provider, "a")
    assert [m.message_id for m in work.messages] == [kept.message_id]
    assert work.messages[0].delivery_count == 2


async def test_message_arriving_during_a_turn_waits_for_the_next_fetch(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    await provider.enqueue_message(event_message("a", "meanwhile"))
    await provider.commit_turns([turn(work, STARTED)])
    work = await fetch_one(provider, "a")
    assert [m.message.body.name for m in work.messages] == ["meanwhile"]
    assert work.messages[0].delivery_count == 1


async def test_commit_writes_a_terminal_outcome(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    update = InstanceUpdate("Completed", "1.0.0", output={"total": 5})
    await provider.commit_turns([turn(work, STARTED, OrchestrationCompleted({"total": 5}), update=update)])
    record = await provider.get_instance("a")
    assert record is not None and (record.status, record.output) == ("Completed", {"total": 5})


async def test_commit_writes_a_failure(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    failure = FailureDetails("ValueError", "bad order", "Traceback ...")
    update = InstanceUpdate("Failed", "1.0.0", error="ValueError: bad order", failure=failure)
    await provider.commit_turns([turn(work, STARTED, OrchestrationFailed(failure), update=update)])
    record = await provider.get_instance("a")
    assert record is not None
    assert (record.status, record.error, record.failure) == ("Failed", "ValueError: bad order", failure)
    assert (await provider.read_history("a"))[-1].body == OrchestrationFailed(failure)


async def test_commit_enqueues_activities_and_messages(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    await create(provider, "b")
    fire_at = now_ms() + 60_000
    await provider.commit_turns(
        [
            turn(
                work,
                STARTED,
                ActivityScheduled("Charge", {"n": 1}),
                activities=[activity(2, "Charge", {"n": 1})],
                messages=[
                    OutgoingMessage(Message("a", TimerFired(3, fire_at), 1), fire_at),
                    OutgoingMessage(event_message("b", "ping", 1)),
                ],
            )
        ]
    )
    [work_item] = await provider.fetch_activity_work(10, 30_000, "test")
    assert (work_item.instance_id, work_item.activity.name, work_item.activity.input) == ("a", "Charge", {"n": 1})
    depths = await provider.queue_depths()
    assert (depths.timer, depths.worker) == (1, 1)
    found = await fetch_all(provider)
    assert list(found) == ["b"]
    assert [m.message.body for m in found["b"].messages][-1] == EventRaised("ping", 1)


async def test_lost_lock_refuses_the_turn_and_writes_nothing(provider, clock):
    await create(provider, "a")
    stale = await fetch_one(provider, "a", lock_timeout_ms=100)
    clock.advance(300)
    fresh = await fetch_one(provider, "a")
    refused = turn(
        stale,
        STARTED,
        ActivityScheduled("Charge"),
        update=InstanceUpdate("Completed", "1.0.0", output="stale"),
        activities=[activity(2)],
        messages=[OutgoingMessage(event_message("a", "stale"))],
        starts=[InstanceStart(start_message("child"))],
    )
    assert await provider.commit_turns([refused]) == ["lock_lost"]
    assert await provider.read_history("a") == []
    assert await provider.get_instance("child") is None
    record = await provider.get_instance("a")
    assert record is not None and record.status == "Pending" and record.output is None
    assert await provider.fetch_activity_work(10, 30_000, "test") == []
    assert await provider.commit_turns([turn(fresh, STARTED)]) == ["committed"], "the new holder still commits"
    assert await fetch_all(provider) == {}, "the stale turn's message was not written either"


async def test_expired_lease_is_refused_even_if_nobody_took_it(provider, clock):
    await create(provider, "a")
    work = await fetch_one(provider, "a", lock_timeout_ms=100)
    clock.advance(300)
    assert await provider.commit_turns([turn(work, STARTED)]) == ["lock_lost"]
    assert await provider.read_history("a") == []


async def test_wrong_token_is_refused(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    forged = dataclasses.replace(turn(work, STARTED), lock_token="forged")
    assert await provider.commit_turns([forged]) == ["lock_lost"]
    assert await provider.commit_turns([turn(work, STARTED)]) == ["committed"]


async def test_commit_for_a_deleted_instance_is_refused(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    await provider.delete_instances(["a"])
    assert await provider.commit_turns([turn(work, STARTED)]) == ["lock_lost"]
    assert await provider.read_history("a") == []


async def test_one_stale_turn_does_not_fail_the_others(provider, clock):
    await create(provider, "b")
    stale = await fetch_one(provider, "b", lock_timeout_ms=100)
    await create(provider, "a")
    await create(provider, "c")
    clock.advance(300)
    works = await fetch_all(provider)
    assert set(works) == {"a", "b", "c"}
    outcomes = await provider.commit_turns([turn(works["a"], STARTED), turn(stale, STARTED), turn(works["c"], STARTED)])
    assert outcomes == ["committed", "lock_lost", "committed"]
    assert len(await provider.read_history("a")) == 1
    assert await provider.read_history("b") == []
    assert len(await provider.read_history("c")) == 1


async def test_a_batch_commits_many_turns(provider):
    for instance_id in ("a", "b"):
        await create(provider, instance_id)
    works = await fetch_all(provider)
    outcomes = await provider.commit_turns([turn(works["a"], STARTED), turn(works["b"], STARTED)])
    assert outcomes == ["committed", "committed"]
    assert await provider.commit_turns([]) == []


async def test_second_commit_with_the_same_token_is_refused(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    assert await provider.commit_turns([turn(work, STARTED)]) == ["committed"]
    assert await provider.commit_turns([turn(work, ActivityScheduled("x"))]) == ["lock_lost"]
    assert len(await provider.read_history("a")) == 1


async def test_start_creates_a_child_with_its_parent(provider):
    await create(provider, "parent")
    work = await fetch_one(provider, "parent")
    child = InstanceStart(start_message("child", name="Child", input=3, parent_instance_id="parent"))
    await provider.commit_turns([turn(work, STARTED, SubOrchestrationScheduled("Child", "child", 3), starts=[child])])
    record = await provider.get_instance("child")
    assert record is not None
    assert (record.name, record.status, record.execution_id, record.parent_instance_id) == (
        "Child",
        "Pending",
        1,
        "parent",
    )
    work = await fetch_one(provider, "child")
    assert work.messages[0].message.body.input == 3
    assert await provider.list_children("parent") == ["child"]


async def test_start_of_a_taken_id_sends_on_conflict_instead(provider):
    await _running(provider, "parent")
    await provider.enqueue_message(event_message("parent"))
    work = await fetch_one(provider, "parent")
    await create(provider, "taken", name="Other")
    refused = Message("parent", SubOrchestrationFailed(2, FailureDetails("InstanceAlreadyExistsError", "taken")), 1)
    start = InstanceStart(start_message("taken", name="Child", parent_instance_id="parent"), on_conflict=refused)
    assert await provider.commit_turns([turn(work, SubOrchestrationScheduled("Child", "taken"), starts=[start])]) == [
        "committed"
    ]
    record = await provider.get_instance("taken")
    assert record is not None and record.name == "Other" and record.parent_instance_id is None
    found = await fetch_all(provider)
    assert [m.message.body for m in found["parent"].messages] == [refused.body]
    assert [type(m.message.body).__name__ for m in found["taken"].messages] == ["OrchestrationStarted"]


async def test_start_of_a_taken_id_without_on_conflict_is_ignored(provider):
    await _running(provider, "a")
    await provider.enqueue_message(event_message("a"))
    work = await fetch_one(provider, "a")
    await create(provider, "taken", name="Other")
    start = InstanceStart(start_message("taken", name="Chained"))
    assert await provider.commit_turns([turn(work, starts=[start])]) == ["committed"]
    record = await provider.get_instance("taken")
    assert record is not None and record.name == "Other"
    assert set(await fetch_all(provider)) == {"taken"}


async def test_cancelled_activities_lose_their_work(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    await provider.commit_turns(
        [
            turn(
                work,
                STARTED,
                ActivityScheduled("A"),
                ActivityScheduled("B"),
                activities=[activity(2, "A"), activity(3, "B")],
            )
        ]
    )
    held = {w.activity.event_id: w for w in await provider.fetch_activity_work(10, 30_000, "test")}
    await provider.enqueue_message(event_message("a"))
    work = await fetch_one(provider, "a")
    await provider.commit_turns([turn(work, cancel_activities=[2])])
    assert await provider.renew_activity_lock(held[2].work_id, held[2].lock_token, 30_000) is False
    assert await provider.renew_activity_lock(held[3].work_id, held[3].lock_token, 30_000) is True
    assert (await provider.queue_depths()).worker == 1


async def test_cancelling_queued_activity_work_removes_it_before_any_worker_sees_it(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    await provider.commit_turns([turn(work, STARTED, ActivityScheduled("A"), activities=[activity(2, "A")])])
    await provider.enqueue_message(event_message("a"))
    work = await fetch_one(provider, "a")
    await provider.commit_turns([turn(work, cancel_activities=[2])])
    assert await provider.fetch_activity_work(10, 30_000, "test") == []


async def test_cancel_activities_touches_only_its_own_instance(provider):
    for instance_id in ("a", "b"):
        await create(provider, instance_id)
    works = await fetch_all(provider)
    await provider.commit_turns(
        [turn(works[i], STARTED, ActivityScheduled("A"), activities=[activity(2, "A")]) for i in ("a", "b")]
    )
    await provider.enqueue_message(event_message("a"))
    work = await fetch_one(provider, "a")
    await provider.commit_turns([turn(work, cancel_activities=[2])])
    [left] = await provider.fetch_activity_work(10, 30_000, "test")
    assert left.instance_id == "b"


async def test_terminal_instance_loses_all_its_activity_work(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    await provider.commit_turns(
        [
            turn(
                work,
                STARTED,
                ActivityScheduled("A"),
                ActivityScheduled("B"),
                activities=[activity(2, "A"), activity(3, "B")],
            )
        ]
    )
    held, _ = await provider.fetch_activity_work(10, 30_000, "test")
    await provider.enqueue_message(event_message("a"))
    work = await fetch_one(provider, "a")
    await provider.commit_turns([turn(work, OrchestrationCompleted(1), status="Completed")])
    assert (await provider.queue_depths()).worker == 0
    assert await provider.renew_activity_lock(held.work_id, held.lock_token, 30_000) is False


async def test_continue_as_new_moves_to_the_next_execution(provider):
    await create(provider, "a", input=1)
    work = await fetch_one(provider, "a")
    fresh_start = Message("a", OrchestrationStarted("Flow", "1.0.0", 2), 2)
    carried = event_message("a", "carried")
    can = turn(
        work,
        STARTED,
        ContinuedAsNew(2),
        messages=[OutgoingMessage(fresh_start), OutgoingMessage(carried)],
        next_execution_id=2,
    )
    assert await provider.commit_turns([can]) == ["committed"]
    record = await provider.get_instance("a")
    assert record is not None and (record.execution_id, record.status) == (2, "Running")
    assert await provider.read_history("a") == []
    assert [e.kind for e in await provider.read_history("a", 1)] == ["OrchestrationStarted", "ContinuedAsNew"]

    work = await fetch_one(provider, "a", known={"a": KnownHistory(record.incarnation, 1, 2)})
    assert (work.instance.execution_id, work.history_after, work.history) == (2, 0, [])
    assert [m.message for m in work.messages] == [fresh_start, carried]
    await provider.commit_turns([turn(work, OrchestrationStarted("Flow", "1.0.0", 2))])
    assert [e.event_id for e in await provider.read_history("a")] == [1]

    executions = await provider.list_executions("a")
    assert [(e.execution_id, e.status, e.event_count) for e in executions] == [(1, "Completed", 2), (2, "Running", 1)]
    assert executions[0].ended_at_ms is not None and executions[1].ended_at_ms is None


async def test_continue_as_new_drops_the_old_execution_activity_work(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    await provider.commit_turns([turn(work, STARTED, ActivityScheduled("A"), activities=[activity(2, "A")])])
    await provider.enqueue_message(event_message("a"))
    work = await fetch_one(provider, "a")
    fresh_start = Message("a", OrchestrationStarted("Flow", "1.0.0"), 2)
    await provider.commit_turns(
        [turn(work, ContinuedAsNew(None), messages=[OutgoingMessage(fresh_start)], next_execution_id=2)]
    )
    assert await provider.fetch_activity_work(10, 30_000, "test") == []


async def test_message_for_an_old_execution_is_still_delivered(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    fresh_start = Message("a", OrchestrationStarted("Flow", "1.0.0"), 2)
    await provider.commit_turns(
        [turn(work, STARTED, ContinuedAsNew(None), messages=[OutgoingMessage(fresh_start)], next_execution_id=2)]
    )
    late = Message("a", TimerFired(5, 0), 1)
    await provider.enqueue_message(late)
    work = await fetch_one(provider, "a")
    assert late in [m.message for m in work.messages], "the runtime, not the store, drops it"


async def test_message_to_a_child_started_in_the_same_turn_reaches_it(provider):
    await create(provider, "parent")
    work = await fetch_one(provider, "parent")
    child = InstanceStart(start_message("child", parent_instance_id="parent"))
    hello = OutgoingMessage(event_message("child", "hello"))
    assert await provider.commit_turns([turn(work, STARTED, starts=[child], messages=[hello])]) == ["committed"]
    work = await fetch_one(provider, "child")
    assert [type(m.message.body).__name__ for m in work.messages] == ["OrchestrationStarted", "EventRaised"]


async def test_message_to_a_deleted_instance_is_dropped_and_the_turn_commits(provider):
    await create(provider, "child")
    work = await fetch_one(provider, "child")
    update = InstanceUpdate("Completed", "1.0.0", output=1)
    to_parent = OutgoingMessage(Message("gone-parent", EventRaised("done", 1)))
    outcome = await provider.commit_turns(
        [turn(work, STARTED, OrchestrationCompleted(1), update=update, messages=[to_parent])]
    )
    assert outcome == ["committed"]
    depths = await provider.queue_depths()
    assert (depths.orchestrator, depths.timer) == (0, 0)


async def test_a_turn_whose_events_are_stored_already_is_refused_and_writes_nothing(provider):
    await _running(provider)
    await provider.enqueue_message(event_message("a", "go"))
    work = await fetch_one(provider, "a")
    written = turn(work, EventRaised("go", None), ActivityScheduled("A", None), activities=[activity(3, "A")],
                   update=InstanceUpdate("Completed", "1.0.0", output="x"))
    reused = [dataclasses.replace(written.new_events[0], event_id=1), *written.new_events[1:]]  # id 1 is stored
    stale = dataclasses.replace(written, new_events=reused)
    assert await provider.commit_turns([stale]) == ["lock_lost"]
    assert [e.kind for e in await provider.read_history("a")] == ["OrchestrationStarted"]
    record = await provider.get_instance("a")
    assert record is not None and record.status == "Running" and record.output is None
    depths = await provider.queue_depths()
    assert (depths.orchestrator, depths.worker) == (1, 0), "its message stays queued, no activity was queued"
    assert await provider.commit_turns([turn(work, EventRaised("go", None))]) == ["committed"], "its lock is still held"
