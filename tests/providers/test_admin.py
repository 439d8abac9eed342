"""Admin reads, deletes, pruning, metrics and queue depths."""

from __future__ import annotations

import pytest

from duroxide_cli import Client
from duroxide_cli.history import ActivityScheduled, ContinuedAsNew, OrchestrationCompleted, OrchestrationStarted
from duroxide_cli.messages import Message
from duroxide_cli.providers.base import InstanceUpdate, OutgoingMessage

from .builders import activity, create, event_message, fetch_all, fetch_one, now_ms, start_message, turn

STARTED = OrchestrationStarted("Flow", "1.0.0")


async def _finish(provider, instance_id: str) -> None:
    work = await fetch_one(provider, instance_id)
    update = InstanceUpdate("Completed", "1.0.0", output="done")
    await provider.commit_turns([turn(work, STARTED, OrchestrationCompleted("done"), update=update)])


async def _continue_as_new(provider, instance_id: str, times: int) -> None:
    """Run ``times`` executions that each continue as new (two events each)."""
    await create(provider, instance_id)
    for execution in range(1, times + 1):
        work = await fetch_one(provider, instance_id)
        fresh = Message(instance_id, OrchestrationStarted("Flow", "1.0.0", execution + 1), execution + 1)
        can = turn(
            work,
            STARTED,
            ContinuedAsNew(execution + 1),
            messages=[OutgoingMessage(fresh)],
            next_execution_id=execution + 1,
        )
        assert await provider.commit_turns([can]) == ["committed"]


async def test_list_instances_is_newest_first(provider):
    for instance_id in ("first", "second", "third"):
        await create(provider, instance_id)
    assert [r.instance_id for r in await provider.list_instances()] == ["third", "second", "first"]


async def test_list_instances_filters_and_limits(provider):
    await create(provider, "done", name="Order")
    await _finish(provider, "done")
    await create(provider, "waiting", name="Order")
    await create(provider, "other", name="Refund")
    assert [r.instance_id for r in await provider.list_instances(status="Completed")] == ["done"]
    assert [r.instance_id for r in await provider.list_instances(name="Order")] == ["waiting", "done"]
    assert [r.instance_id for r in await provider.list_instances(status="Pending", name="Order")] == ["waiting"]
    assert [r.instance_id for r in await provider.list_instances(limit=2)] == ["other", "waiting"]
    assert await provider.list_instances(name="Nothing") == []


async def test_list_children_names_only_direct_children(provider):
    await create(provider, "parent")
    await provider.create_instance(start_message("child-1", parent_instance_id="parent"))
    await provider.create_instance(start_message("child-2", parent_instance_id="parent"))
    await provider.create_instance(start_message("grandchild", parent_instance_id="child-1"))
    assert sorted(await provider.list_children("parent")) == ["child-1", "child-2"]
    assert await provider.list_children("child-2") == []


async def test_list_executions_of_a_new_instance(provider):
    before = now_ms()
    await create(provider, "a")
    [execution] = await provider.list_executions("a")
    assert execution.execution_id == 1 and execution.event_count == 0 and execution.ended_at_ms is None
    assert execution.started_at_ms >= before - 1000
    assert await provider.list_executions("missing") == []


async def test_list_executions_records_how_each_ended(provider):
    await _continue_as_new(provider, "a", 2)
    await _finish(provider, "a")
    executions = await provider.list_executions("a")
    assert [(e.execution_id, e.status, e.event_count) for e in executions] == [
        (1, "Completed", 2),
        (2, "Completed", 2),
        (3, "Completed", 2),
    ]
    assert all(e.ended_at_ms is not None for e in executions)


async def test_read_history_reads_the_latest_or_a_named_execution(provider):
    await _continue_as_new(provider, "a", 1)
    work = await fetch_one(provider, "a")
    await provider.commit_turns([turn(work, OrchestrationStarted("Flow", "1.0.0", 2), ActivityScheduled("A"))])
    assert [e.kind for e in await provider.read_history("a")] == ["OrchestrationStarted", "ActivityScheduled"]
    assert [e.kind for e in await provider.read_history("a", 1)] == ["OrchestrationStarted", "ContinuedAsNew"]
    assert [e.event_id for e in await provider.read_history("a", 2)] == [1, 2]
    assert await provider.read_history("a", 9) == []
    assert await provider.read_history("missing") == []


async def test_history_keeps_timestamps_and_bodies(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    events = turn(work, OrchestrationStarted("Flow", "1.0.0", {"k": [1, 2.5, None, "x"]})).new_events
    await provider.commit_turns([turn(work, *[e.body for e in events])])
    [stored] = await provider.read_history("a")
    assert stored.body == events[0].body
    assert abs(stored.timestamp_ms - events[0].timestamp_ms) < 1000


async def test_delete_removes_everything_of_the_instance(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    await provider.commit_turns([turn(work, STARTED, ActivityScheduled("A"), activities=[activity(2)])])
    await provider.enqueue_message(event_message("a"))
    await provider.enqueue_message(event_message("a", "timer"), visible_at_ms=now_ms() + 60_000)
    await create(provider, "kept")
    assert await provider.delete_instances(["a", "missing"]) == 1
    assert await provider.get_instance("a") is None
    assert await provider.read_history("a", 1) == []
    assert await provider.list_executions("a") == []
    depths = await provider.queue_depths()
    assert (depths.orchestrator, depths.worker, depths.timer) == (1, 0, 0)
    assert list(await fetch_all(provider)) == ["kept"]
    assert await provider.delete_instances([]) == 0


async def test_deleted_id_can_be_used_again(provider):
    await create(provider, "a", name="Old")
    await provider.delete_instances(["a"])
    await create(provider, "a", name="New")
    record = await provider.get_instance("a")
    assert record is not None and record.name == "New"
    assert len((await fetch_one(provider, "a")).messages) == 1


async def test_prune_keeps_the_last_executions(provider):
    await _continue_as_new(provider, "a", 3)
    assert await provider.prune_executions("a", keep_last=2) == 2
    assert [e.execution_id for e in await provider.list_executions("a")] == [3, 4]
    assert await provider.read_history("a", 1) == []
    assert len(await provider.read_history("a", 3)) == 2
    assert await provider.prune_executions("a", keep_last=2) == 0
    assert await provider.prune_executions("missing", keep_last=1) == 0


async def test_prune_to_one_keeps_the_current_execution(provider):
    await _continue_as_new(provider, "a", 2)
    assert await provider.prune_executions("a", keep_last=1) == 2
    assert [e.execution_id for e in await provider.list_executions("a")] == [3]
    record = await provider.get_instance("a")
    assert record is not None and record.execution_id == 3


async def test_the_client_refuses_to_prune_every_execution(provider):
    await create(provider, "a")
    with pytest.raises(ValueError, match="keep_last"):
        await Client(provider).prune_executions("a", keep_last=0)
    assert [e.execution_id for e in await provider.list_executions("a")] == [1]


async def test_system_metrics_count_instances_by_status(provider):
    metrics = await provider.system_metrics()
    assert metrics.total == 0
    assert all(count == 0 for count in metrics.by_status.values())
    await create(provider, "done")
    await _finish(provider, "done")
    await create(provider, "p1")
    await create(provider, "p2")
    metrics = await provider.system_metrics()
    assert metrics.total == 3
    assert metrics.by_status == {"Pending": 2, "Running": 0, "Completed": 1, "Failed": 0, "Cancelled": 0}
    assert list(metrics.by_status) == ["Pending", "Running", "Completed", "Failed", "Cancelled"], "one order in every store"


async def test_queue_depths_split_visible_delayed_and_activity_work(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    await provider.commit_turns(
        [turn(work, STARTED, ActivityScheduled("A"), ActivityScheduled("B"), activities=[activity(2), activity(3)])]
    )
    await provider.fetch_activity_work(1, 30_000, "w")
    await provider.enqueue_message(event_message("a", "now"))
    await provider.enqueue_message(event_message("a", "t1"), visible_at_ms=now_ms() + 60_000)
    await provider.enqueue_message(event_message("a", "t2"), visible_at_ms=now_ms() + 60_000)
    depths = await provider.queue_depths()
    assert (depths.orchestrator, depths.timer, depths.worker) == (1, 2, 2)
