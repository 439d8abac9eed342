"""Fetching orchestration work: instance locks, delivery counts, the ``known`` rule, visibility."""

from __future__ import annotations

from duroxide_cli.history import ActivityScheduled, OrchestrationStarted, TimerCreated
from duroxide_cli.providers.base import KnownHistory

from .builders import create, event_message, fetch_all, fetch_one, now_ms, turn


async def test_nothing_to_fetch_on_an_empty_store(provider):
    assert await fetch_all(provider) == {}


async def test_fetch_locks_the_instance_until_the_lease_ends(provider):
    await create(provider, "a")
    first = await fetch_one(provider, "a")
    assert first.lock_token
    assert await fetch_all(provider) == {}
    await provider.enqueue_message(event_message("a"))
    assert await fetch_all(provider) == {}, "a locked instance is skipped even when new messages arrive"


async def test_expired_lock_lets_another_fetch_take_the_instance(provider, clock):
    await create(provider, "a")
    first = await fetch_one(provider, "a", lock_timeout_ms=100)
    clock.advance(300)
    second = await fetch_one(provider, "a")
    assert second.lock_token != first.lock_token
    assert [m.message_id for m in second.messages] == [m.message_id for m in first.messages]


async def test_every_fetch_counts_a_delivery(provider, clock):
    await create(provider, "a")
    assert [m.delivery_count for m in (await fetch_one(provider, "a", lock_timeout_ms=100)).messages] == [1]
    clock.advance(300)
    await provider.enqueue_message(event_message("a"))
    work = await fetch_one(provider, "a")
    assert [m.delivery_count for m in work.messages] == [2, 1]


async def test_fetch_returns_every_visible_message_oldest_first(provider):
    await create(provider, "a")
    for name in ("one", "two", "three"):
        await provider.enqueue_message(event_message("a", name))
    work = await fetch_one(provider, "a")
    kinds = [type(m.message.body).__name__ for m in work.messages]
    assert kinds == ["OrchestrationStarted", "EventRaised", "EventRaised", "EventRaised"]
    assert [m.message.body.name for m in work.messages[1:]] == ["one", "two", "three"]
    assert [m.message_id for m in work.messages] == sorted(m.message_id for m in work.messages)


async def test_fetch_respects_the_limit_and_takes_the_oldest_message_first(provider):
    for instance_id in ("c", "a", "b"):
        await create(provider, instance_id)
    first = await provider.fetch_orchestration_work(2, 30_000, "test", {})
    assert [w.instance.instance_id for w in first] == ["c", "a"]
    second = await provider.fetch_orchestration_work(2, 30_000, "test", {})
    assert [w.instance.instance_id for w in second] == ["b"]


async def test_fetch_returns_the_instance_row(provider):
    await create(provider, "a", name="Order", version="3.1.0")
    work = await fetch_one(provider, "a")
    assert (work.instance.name, work.instance.version, work.instance.status) == ("Order", "3.1.0", "Pending")


async def _instance_with_two_events(provider) -> str:
    """Instance "a" with two events and a message waiting; returns its incarnation."""
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    committed = await provider.commit_turns(
        [turn(work, OrchestrationStarted("Flow", "1.0.0"), ActivityScheduled("Charge", 5))]
    )
    assert committed == ["committed"]
    await provider.enqueue_message(event_message("a"))
    return work.instance.incarnation


async def test_unknown_instance_gets_its_whole_history(provider):
    await _instance_with_two_events(provider)
    work = await fetch_one(provider, "a")
    assert work.history_after == 0
    assert [e.event_id for e in work.history] == [1, 2]
    assert [e.kind for e in work.history] == ["OrchestrationStarted", "ActivityScheduled"]
    assert work.history[1].body == ActivityScheduled("Charge", 5)


async def test_known_instance_gets_only_newer_events(provider):
    incarnation = await _instance_with_two_events(provider)
    work = await fetch_one(provider, "a", known={"a": KnownHistory(incarnation, 1, 1)})
    assert work.history_after == 1
    assert [e.event_id for e in work.history] == [2]


async def test_known_instance_holding_everything_gets_no_events(provider):
    incarnation = await _instance_with_two_events(provider)
    work = await fetch_one(provider, "a", known={"a": KnownHistory(incarnation, 1, 2)})
    assert (work.history_after, work.history) == (2, [])


async def test_known_other_execution_gets_the_whole_history(provider):
    incarnation = await _instance_with_two_events(provider)
    work = await fetch_one(provider, "a", known={"a": KnownHistory(incarnation, 7, 2)})
    assert work.history_after == 0
    assert [e.event_id for e in work.history] == [1, 2]


async def test_every_instance_gets_its_own_incarnation(provider):
    await create(provider, "a")
    await create(provider, "b")
    a, b = await provider.get_instance("a"), await provider.get_instance("b")
    assert a is not None and b is not None
    assert a.incarnation and b.incarnation and a.incarnation != b.incarnation
    work = await fetch_all(provider)
    assert work["a"].instance.incarnation == a.incarnation


async def test_an_id_started_again_after_a_delete_is_a_new_incarnation_with_its_whole_history(provider):
    old = await _instance_with_two_events(provider)
    assert await provider.delete_instances(["a"]) == 1
    await create(provider, "a", input="new")
    work = await fetch_one(provider, "a")
    await provider.commit_turns([turn(work, OrchestrationStarted("Flow", "1.0.0", "new"), ActivityScheduled("Charge", 6))])
    await provider.enqueue_message(event_message("a"))

    work = await fetch_one(provider, "a", known={"a": KnownHistory(old, 1, 1)})
    assert work.instance.incarnation != old
    assert work.history_after == 0
    assert [e.body for e in work.history] == [OrchestrationStarted("Flow", "1.0.0", "new"), ActivityScheduled("Charge", 6)]


async def test_delayed_message_is_invisible_until_due(provider, clock):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    fire_at = clock.now_ms() + 400
    await provider.commit_turns([turn(work, OrchestrationStarted("Flow", "1.0.0"), TimerCreated(fire_at))])
    await provider.enqueue_message(event_message("a", "later"), visible_at_ms=fire_at)
    assert await fetch_all(provider) == {}
    clock.advance(700)
    work = await fetch_one(provider, "a")
    assert [m.message.body.name for m in work.messages] == ["later"]


async def test_delayed_message_stays_behind_when_the_instance_is_fetched(provider):
    await create(provider, "a")
    await provider.enqueue_message(event_message("a", "later"), visible_at_ms=now_ms() + 60_000)
    work = await fetch_one(provider, "a")
    assert [type(m.message.body).__name__ for m in work.messages] == ["OrchestrationStarted"]
    await provider.commit_turns([turn(work)])
    assert await fetch_all(provider) == {}
    assert (await provider.queue_depths()).timer == 1


async def test_message_in_the_past_is_visible_at_once(provider):
    await create(provider, "a")
    await provider.enqueue_message(event_message("a", "overdue"), visible_at_ms=now_ms() - 5_000)
    work = await fetch_one(provider, "a")
    assert len(work.messages) == 2


async def test_another_process_write_is_noticed_by_the_next_fetch(provider, other_process):
    assert await fetch_all(provider) == {}
    await create(other_process, "a")
    assert "a" in await fetch_all(provider)


async def test_another_process_lock_is_respected(provider, other_process, clock):
    await create(provider, "a")
    await fetch_one(other_process, "a", lock_timeout_ms=200)
    assert await fetch_all(provider) == {}
    clock.advance(500)
    assert "a" in await fetch_all(provider), "the other process's expired lock no longer holds"


async def test_another_process_timer_is_fetched_when_due(provider, other_process, clock):
    await create(other_process, "a")
    await provider.commit_turns([turn(await fetch_one(provider, "a"))])
    assert await fetch_all(provider) == {}
    await other_process.enqueue_message(event_message("a", "due"), visible_at_ms=clock.now_ms() + 300)
    assert await fetch_all(provider) == {}, "not due yet"
    clock.advance(600)
    work = await fetch_one(provider, "a")
    assert [m.message.body.name for m in work.messages] == ["due"]


async def test_idle_fetches_keep_noticing_other_processes(provider, other_process):
    for _ in range(3):
        assert await fetch_all(provider) == {}
    await create(other_process, "a")
    await create(other_process, "b")
    assert set(await fetch_all(provider)) == {"a", "b"}


async def test_each_instance_of_one_fetch_gets_the_history_its_own_known_entry_allows(provider):
    """Many entries in ``known`` (a runtime's whole cache), ids with commas, quotes and spaces:
    each fetched instance is matched with its own entry, whatever the others say."""
    ids = ["a", 'b,"1"', "c {x}", "d"]
    for iid in ids:
        await create(provider, iid)
    started = await fetch_all(provider)
    committed = await provider.commit_turns(
        [turn(started[iid], OrchestrationStarted("Flow", "1.0.0"), ActivityScheduled("Charge", 5)) for iid in ids]
    )
    assert committed == ["committed"] * 4
    for iid in ids:
        await provider.enqueue_message(event_message(iid))
    incarnations = {iid: started[iid].instance.incarnation for iid in ids}
    known = {f"other-{i}": KnownHistory("x" * 32, 1, 3) for i in range(500)}
    known |= {"a": KnownHistory(incarnations["a"], 1, 1), 'b,"1"': KnownHistory(incarnations['b,"1"'], 1, 2)}
    known["c {x}"] = KnownHistory(incarnations["c {x}"], 2, 1)  # another execution: all of it
    work = await fetch_all(provider, known=known)
    assert {iid: (w.history_after, [e.event_id for e in w.history]) for iid, w in work.items()} == {
        "a": (1, [2]),
        'b,"1"': (2, []),
        "c {x}": (0, [1, 2]),
        "d": (0, [1, 2]),
    }


async def test_instances_of_one_fetch_hold_leases_of_their_own(provider):
    """One fetch takes several instances, each with its own token and only its own messages:
    releasing one leaves the others locked, and an old token of one never releases another."""
    for iid in ("a", "b", "c"):
        await create(provider, iid)
        await provider.enqueue_message(event_message(iid, f"for {iid}"))
    work = await fetch_all(provider)
    assert len({w.lock_token for w in work.values()}) == 3
    assert {iid: [m.message.instance_id for m in w.messages] for iid, w in work.items()} == {
        iid: [iid, iid] for iid in ("a", "b", "c")
    }
    await provider.abandon_orchestration("b", work["a"].lock_token)  # not b's token: nothing happens
    assert await fetch_all(provider) == {}
    await provider.abandon_orchestration("b", work["b"].lock_token, count_delivery=False)
    assert set(await fetch_all(provider)) == {"b"}
