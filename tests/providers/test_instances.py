"""Creating instances and enqueuing messages."""

from __future__ import annotations

import pytest

from duroxide_cli.errors import InstanceAlreadyExistsError, InstanceNotFoundError
from duroxide_cli.history import OrchestrationStarted
from duroxide_cli.providers.base import InstanceUpdate

from .builders import create, event_message, fetch_one, now_ms, start_message, turn


async def test_created_instance_is_pending_at_execution_one(provider):
    before = now_ms()
    await create(provider, "a", name="Order", version="2.0.0", input={"id": 7})
    record = await provider.get_instance("a")
    assert record is not None
    assert (record.instance_id, record.name, record.version, record.status) == ("a", "Order", "2.0.0", "Pending")
    assert record.execution_id == 1
    assert record.output is None and record.error is None and record.failure is None
    assert record.parent_instance_id is None
    assert before - 1000 <= record.created_at_ms <= now_ms() + 1000
    assert record.updated_at_ms >= record.created_at_ms


async def test_start_without_version_leaves_version_unresolved(provider):
    await create(provider, "a", version=None)
    record = await provider.get_instance("a")
    assert record is not None and record.version is None


async def test_start_message_is_queued_with_the_instance(provider):
    await create(provider, "a", input=[1, 2])
    work = await fetch_one(provider, "a")
    [queued] = work.messages
    assert queued.message.instance_id == "a"
    assert queued.message.execution_id == 1
    assert queued.message.body == OrchestrationStarted("Flow", "1.0.0", [1, 2])


async def test_duplicate_id_is_refused_and_changes_nothing(provider):
    await create(provider, "a", name="First")
    with pytest.raises(InstanceAlreadyExistsError) as raised:
        await create(provider, "a", name="Second")
    assert raised.value.instance_id == "a"
    record = await provider.get_instance("a")
    assert record is not None and record.name == "First"
    assert len((await fetch_one(provider, "a")).messages) == 1


async def test_unknown_instance_is_none(provider):
    assert await provider.get_instance("missing") is None


async def test_enqueue_to_unknown_instance_raises(provider):
    with pytest.raises(InstanceNotFoundError) as raised:
        await provider.enqueue_message(event_message("missing"))
    assert raised.value.instance_id == "missing"
    assert (await provider.queue_depths()).orchestrator == 0


async def test_enqueue_to_a_finished_instance_is_accepted(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    assert await provider.commit_turns([turn(work, status="Completed")]) == ["committed"]
    await provider.enqueue_message(event_message("a", "late"))
    work = await fetch_one(provider, "a")
    assert [m.message.body.name for m in work.messages] == ["late"]


async def test_messages_keep_their_bodies_and_execution(provider):
    await create(provider, "a")
    await provider.enqueue_message(event_message("a", "go", {"nested": [1, {"k": None}]}))
    work = await fetch_one(provider, "a")
    started, raised = work.messages
    assert raised.message.body.data == {"nested": [1, {"k": None}]}
    assert raised.message.execution_id is None
    assert started.message_id < raised.message_id


async def test_start_message_records_its_parent(provider):
    await create(provider, "parent")
    await provider.create_instance(start_message("child", parent_instance_id="parent"))
    record = await provider.get_instance("child")
    assert record is not None and record.parent_instance_id == "parent"


async def test_a_hold_shows_as_held_of_an_unfinished_instance_and_can_be_released(provider):
    await create(provider, "held")
    work = await fetch_one(provider, "held")
    await provider.commit_turns([turn(work, OrchestrationStarted("Flow", "1.0.0"))])
    await provider.set_instance_held("held", "held back: the code diverges at app.py:12")
    record = await provider.get_instance("held")
    assert record is not None
    assert (record.status, record.held, record.error) == ("Running", "held back: the code diverges at app.py:12", None)
    await provider.set_instance_held("held", None)
    record = await provider.get_instance("held")
    assert record is not None and record.held is None
    await provider.set_instance_held("nobody", "ignored")  # an unknown id is not an error


async def test_a_hold_leaves_the_error_of_a_pending_instance_alone(provider):
    await create(provider, "waiting")
    work = await fetch_one(provider, "waiting", lock_timeout_ms=30_000)
    await provider.abandon_orchestration("waiting", work.lock_token, reason="orchestration 'Flow' is not registered")
    await provider.set_instance_held("waiting", "held back")
    record = await provider.get_instance("waiting")
    assert record is not None
    assert (record.status, record.error, record.held) == ("Pending", "orchestration 'Flow' is not registered", "held back")


async def test_a_hold_leaves_a_finished_instance_alone(provider):
    await create(provider, "done")
    work = await fetch_one(provider, "done")
    failed = InstanceUpdate("Failed", "1.0.0", error="boom")
    await provider.commit_turns([turn(work, OrchestrationStarted("Flow", "1.0.0"), update=failed)])
    await provider.set_instance_held("done", "late hold")
    record = await provider.get_instance("done")
    assert record is not None and (record.status, record.error, record.held) == ("Failed", "boom", None)


async def test_a_committed_turn_releases_a_hold(provider):
    await create(provider, "a")
    await provider.set_instance_held("a", "held back")
    work = await fetch_one(provider, "a")
    await provider.commit_turns([turn(work, OrchestrationStarted("Flow", "1.0.0"))])
    record = await provider.get_instance("a")
    assert record is not None and (record.status, record.held) == ("Running", None)


async def test_one_refused_call_among_concurrent_ones_fails_alone(provider):
    """Calls made at the same moment may share a transaction (group commit); a refused one
    still fails alone and the others take effect."""
    import asyncio

    await create(provider, "taken", name="First")
    ids = [f"c-{i}" for i in range(20)]
    outcomes = await asyncio.gather(
        *(create(provider, iid) for iid in ids[:10]),
        create(provider, "taken", name="Second"),
        provider.enqueue_message(event_message("missing")),
        *(create(provider, iid) for iid in ids[10:]),
        return_exceptions=True,
    )
    assert isinstance(outcomes[10], InstanceAlreadyExistsError)
    assert isinstance(outcomes[11], InstanceNotFoundError)
    assert [o for i, o in enumerate(outcomes) if i not in (10, 11)] == [None] * 20
    for iid in ids:
        record = await provider.get_instance(iid)
        assert record is not None and record.status == "Pending"
    taken = await provider.get_instance("taken")
    assert taken is not None and taken.name == "First"
    assert (await provider.queue_depths()).orchestrator == 21


async def test_two_starts_of_one_id_made_together_create_it_once(provider):
    """Among starts that share a transaction, the first of an id creates it; a second is refused
    alone, and the start messages queue in the order the calls were made."""
    import asyncio

    ids = ["s-0", "s-1", "twice", "s-2", "twice", "s-3"]
    names = [f"Name{i}" for i in range(len(ids))]
    outcomes = await asyncio.gather(
        *(create(provider, iid, name=name) for iid, name in zip(ids, names, strict=True)), return_exceptions=True
    )
    assert [type(o).__name__ for o in outcomes] == ["NoneType"] * 4 + ["InstanceAlreadyExistsError", "NoneType"]
    assert (await provider.get_instance("twice")).name == "Name2"
    found = await provider.fetch_orchestration_work(10, 30_000, "test", {})
    assert [w.instance.instance_id for w in found] == ["s-0", "s-1", "twice", "s-2", "s-3"]
    assert (await provider.queue_depths()).orchestrator == 5
