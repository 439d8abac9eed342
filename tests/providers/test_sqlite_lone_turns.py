"""SQLite only: a turn committed alone (one check, then its writes) and a fetch answered as one
JSON row keep text holding a NUL character (PostgreSQL refuses it outright)."""

from __future__ import annotations

import pytest

from duroxide_cli.history import ActivityCompleted, ActivityScheduled, OrchestrationCompleted, OrchestrationStarted
from duroxide_cli.providers.base import ActivityLease, HeldWork, InstanceUpdate, TakeLock, TurnCommit
from duroxide_cli.providers.sqlite import SqliteProvider

from .builders import activity, event_message, events, fetch_one, start_message, turn

STARTED = OrchestrationStarted("Flow", "1.0.0")


@pytest.fixture
async def provider(tmp_path):
    provider = await SqliteProvider.open(tmp_path / "store.db")
    yield provider
    await provider.close()


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
