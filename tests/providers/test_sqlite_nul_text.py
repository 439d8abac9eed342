"""SQLite only: text holding a NUL character (PostgreSQL refuses it outright) is kept whole
through the paths that pass values through JSON or multi-row statements: a batch of turns,
starts made together, a turn committed alone (one check, then its writes) and a fetch answered
as one JSON row."""

from __future__ import annotations

import asyncio

import pytest

from duroxide_cli.history import (
    ActivityCompleted,
    ActivityScheduled,
    FailureDetails,
    OrchestrationCompleted,
    OrchestrationFailed,
    OrchestrationStarted,
)
from duroxide_cli.providers.base import ActivityLease, HeldWork, InstanceUpdate, TakeLock, TurnCommit
from duroxide_cli.providers.sqlite import SqliteProvider

from .builders import activity, event_message, events, fetch_all, fetch_one, start_message, turn

STARTED = OrchestrationStarted("Flow", "1.0.0")


@pytest.fixture
async def provider(tmp_path):
    provider = await SqliteProvider.open(tmp_path / "store.db")
    yield provider
    await provider.close()


async def test_a_batch_of_turns_keeps_text_holding_a_nul_character(provider):
    for instance_id in ("a", "b"):
        await provider.create_instance(start_message(instance_id))
    works = await fetch_all(provider)
    failure = FailureDetails("RuntimeError", "x")
    outcomes = await provider.commit_turns([
        turn(works["a"], STARTED, OrchestrationFailed(failure),
             update=InstanceUpdate("Failed", "1.0.0", error="before\x00after", failure=failure)),
        turn(works["b"], STARTED, OrchestrationCompleted("in\x00out"),
             update=InstanceUpdate("Completed", "1.0.0", output="in\x00out")),
    ])
    assert outcomes == ["committed", "committed"]
    assert (await provider.get_instance("a")).error == "before\x00after"
    assert (await provider.get_instance("b")).output == "in\x00out"
    assert (await provider.read_history("b"))[-1].body == OrchestrationCompleted("in\x00out")


async def test_starts_made_together_keep_an_input_holding_a_nul_character(provider):
    ids = [f"i{n}" for n in range(6)]
    await asyncio.gather(*(provider.create_instance(start_message(i, input=f"{i}\x00!")) for i in ids))
    works = await fetch_all(provider)
    assert sorted(works) == ids
    assert [works[i].messages[0].message.body.input for i in ids] == [f"{i}\x00!" for i in ids]


async def test_a_lone_turn_and_the_next_fetch_keep_text_holding_a_nul_character(provider):
    await provider.create_instance(start_message("a", input="in\x00put"))
    work = await fetch_one(provider, "a")
    assert work.messages[0].message.body.input == "in\x00put"
    assert await provider.commit_turns([turn(work, OrchestrationStarted("Flow", "1.0.0", input="in\x00put"))]) == ["committed"]
    await provider.enqueue_message(event_message("a", "go", data="da\x00ta"))
    work = await fetch_one(provider, "a")
    assert work.history[0].body.input == "in\x00put"
    assert work.messages[0].message.body.data == "da\x00ta"
    outcome = await provider.commit_turns([
        turn(work, OrchestrationCompleted("out\x00put"), update=InstanceUpdate("Completed", "1.0.0", output="out\x00put"))
    ])
    assert outcome == ["committed"]
    assert (await provider.get_instance("a")).output == "out\x00put"
    assert (await provider.read_history("a"))[-1].body == OrchestrationCompleted("out\x00put")


async def test_a_lone_turn_taking_the_lock_keeps_text_holding_a_nul_character(provider):
    await provider.create_instance(start_message("a"))
    work = await fetch_one(provider, "a")
    [first] = await provider.commit_turns_leasing([
        turn(work, STARTED, ActivityScheduled("A", "x\x00y"), activities=[activity(2, "A", input="x\x00y")],
             lease_activities=ActivityLease("me", 30_000, 1))
    ])
    [leased] = first.leased
    assert leased.activity.input == "x\x00y"
    record = await provider.get_instance("a")
    [result] = await provider.commit_turns_leasing([TurnCommit(
        instance_id="a", lock_token="", execution_id=1, consumed_message_ids=[],
        new_events=events(3, ActivityCompleted(2, "r\x00s")), instance=InstanceUpdate("Running", "1.0.0"),
        completed_work=[HeldWork(leased.work_id, leased.lock_token)], take_lock=TakeLock(record.incarnation, 2),
    )])
    assert result.outcome == "committed"
    assert (await provider.read_history("a"))[-1].body == ActivityCompleted(2, "r\x00s")
