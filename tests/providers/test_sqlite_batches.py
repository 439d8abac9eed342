"""What SQLite alone keeps that a batch written through JSON could lose: text holding a NUL
character (PostgreSQL refuses it outright), in a batch of turns and in starts made together."""

from __future__ import annotations

import asyncio

import pytest

from duroxide_cli.history import FailureDetails, OrchestrationCompleted, OrchestrationFailed, OrchestrationStarted
from duroxide_cli.providers.base import InstanceUpdate
from duroxide_cli.providers.sqlite import SqliteProvider

from .builders import fetch_all, start_message, turn

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
