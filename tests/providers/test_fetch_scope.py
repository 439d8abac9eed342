"""Scoped fetches: ``instance_ids`` limits both fetches to some instances; others are untouched."""

from __future__ import annotations

from duroxide_cli.history import ActivityScheduled, OrchestrationStarted

from .builders import activity, create, fetch_all, fetch_one, turn

STARTED = OrchestrationStarted("Flow", "1.0.0")


async def test_scoped_orchestration_fetch_takes_only_the_named_instances(provider):
    for instance_id in ("a", "b", "c"):
        await create(provider, instance_id)
    found = await provider.fetch_orchestration_work(10, 30_000, "test", {}, instance_ids=["c", "a", "missing"])
    assert sorted(w.instance.instance_id for w in found) == ["a", "c"]
    [other] = (await fetch_all(provider)).values()
    assert other.instance.instance_id == "b"
    assert [m.delivery_count for m in other.messages] == [1], "the scoped fetch neither locked nor counted it"


async def test_scoped_orchestration_fetch_keeps_the_oldest_message_first_and_the_limit(provider):
    for instance_id in ("c", "a", "b"):
        await create(provider, instance_id)
    found = await provider.fetch_orchestration_work(2, 30_000, "test", {}, instance_ids={"a", "b", "c"})
    assert [w.instance.instance_id for w in found] == ["c", "a"]


async def test_empty_scope_fetches_nothing(provider):
    await create(provider, "a")
    assert await provider.fetch_orchestration_work(10, 30_000, "test", {}, instance_ids=[]) == []
    assert await provider.fetch_activity_work(10, 30_000, "test", instance_ids=()) == []
    assert list(await fetch_all(provider)) == ["a"]


async def test_a_wider_scope_finds_work_an_empty_scoped_fetch_did_not(provider):
    await create(provider, "a")
    await create(provider, "b")
    assert [w.instance.instance_id for w in await provider.fetch_orchestration_work(10, 30_000, "t", {}, instance_ids=["a"])] == ["a"]
    assert await provider.fetch_orchestration_work(10, 30_000, "t", {}, instance_ids=["a"]) == []
    found = await provider.fetch_orchestration_work(10, 30_000, "t", {}, instance_ids=["a", "b"])
    assert [w.instance.instance_id for w in found] == ["b"], "nothing was written in between, yet the new scope is asked"


async def _schedule(provider, instance_id: str, *names: str) -> None:
    await create(provider, instance_id)
    work = await fetch_one(provider, instance_id)
    bodies = [ActivityScheduled(name) for name in names]
    new = [activity(2 + index, name) for index, name in enumerate(names)]
    assert await provider.commit_turns([turn(work, STARTED, *bodies, activities=new)]) == ["committed"]


async def test_scoped_activity_fetch_takes_only_the_named_instances_work(provider):
    await _schedule(provider, "a", "A1", "A2")
    await _schedule(provider, "b", "B1")
    found = await provider.fetch_activity_work(10, 30_000, "w", instance_ids=["b"])
    assert [(w.instance_id, w.activity.name) for w in found] == [("b", "B1")]
    rest = await provider.fetch_activity_work(10, 30_000, "w")
    assert [(w.instance_id, w.activity.name, w.delivery_count) for w in rest] == [("a", "A1", 1), ("a", "A2", 1)]


async def test_scoped_activity_fetch_respects_the_limit_oldest_first(provider):
    await _schedule(provider, "a", "A1", "A2", "A3")
    found = await provider.fetch_activity_work(2, 30_000, "w", instance_ids=["a", "a"])
    assert [w.activity.name for w in found] == ["A1", "A2"]
