"""Activity work: peek-lock fetch, renewal, completion, abandon and lease expiry."""

from __future__ import annotations

from duroxide_cli.history import ActivityCompleted, ActivityScheduled, OrchestrationStarted

from .builders import activity, completion, create, fetch_all, fetch_one, turn

STARTED = OrchestrationStarted("Flow", "1.0.0")


async def _schedule(provider, *names: str, instance_id: str = "a") -> None:
    """A running instance whose first turn scheduled one activity per name (event ids 2, 3, ...)."""
    await create(provider, instance_id)
    work = await fetch_one(provider, instance_id)
    bodies = [ActivityScheduled(name, {"name": name}) for name in names]
    new = [activity(2 + index, name, {"name": name}) for index, name in enumerate(names)]
    assert await provider.commit_turns([turn(work, STARTED, *bodies, activities=new)]) == ["committed"]


async def test_fetch_returns_the_activity_with_its_context(provider):
    await _schedule(provider, "Charge")
    [work] = await provider.fetch_activity_work(10, 30_000, "worker-1")
    assert work.instance_id == "a" and work.lock_token and work.delivery_count == 1
    assert work.activity == activity(2, "Charge", {"name": "Charge"})


async def test_fetch_locks_the_item_and_respects_the_limit_oldest_first(provider):
    await _schedule(provider, "A", "B", "C")
    first = await provider.fetch_activity_work(2, 30_000, "w")
    assert [w.activity.name for w in first] == ["A", "B"]
    assert len({w.lock_token for w in first}) == 2
    second = await provider.fetch_activity_work(2, 30_000, "w")
    assert [w.activity.name for w in second] == ["C"]
    assert await provider.fetch_activity_work(2, 30_000, "w") == []


async def test_completion_removes_the_work_and_queues_the_result(provider):
    await _schedule(provider, "Charge")
    [work] = await provider.fetch_activity_work(10, 30_000, "w")
    assert await provider.complete_activities([completion(work, {"ok": True})]) == [True]
    assert (await provider.queue_depths()).worker == 0
    found = await fetch_all(provider)
    [message] = found["a"].messages
    assert message.message.body == ActivityCompleted(2, {"ok": True})
    assert message.message.execution_id == 1


async def test_completions_are_judged_one_by_one(provider):
    await _schedule(provider, "A", "B")
    a, b = await provider.fetch_activity_work(10, 30_000, "w")
    results = await provider.complete_activities([completion(a, 1), completion(b, 2, lock_token="stale")])
    assert results == [True, False]
    assert [m.message.body.result for m in (await fetch_one(provider, "a")).messages] == [1]
    assert (await provider.queue_depths()).worker == 1


async def test_completing_twice_is_refused(provider):
    await _schedule(provider, "A")
    [work] = await provider.fetch_activity_work(10, 30_000, "w")
    assert await provider.complete_activities([completion(work)]) == [True]
    assert await provider.complete_activities([completion(work)]) == [False]
    assert len((await fetch_one(provider, "a")).messages) == 1


async def test_expired_lease_is_refetched_with_a_new_token_and_the_old_one_is_refused(provider, clock):
    await _schedule(provider, "Charge")
    [stale] = await provider.fetch_activity_work(10, 100, "w1")
    assert await provider.fetch_activity_work(10, 30_000, "w2") == []
    clock.advance(300)
    [fresh] = await provider.fetch_activity_work(10, 30_000, "w2")
    assert fresh.work_id == stale.work_id and fresh.lock_token != stale.lock_token
    assert fresh.delivery_count == 2
    assert await provider.renew_activity_lock(stale.work_id, stale.lock_token, 30_000) is False
    assert await provider.complete_activities([completion(stale, "stale")]) == [False]
    assert await provider.complete_activities([completion(fresh, "fresh")]) == [True]
    assert [m.message.body.result for m in (await fetch_one(provider, "a")).messages] == ["fresh"]


async def test_renewal_extends_the_lease(provider, clock):
    await _schedule(provider, "Slow")
    [work] = await provider.fetch_activity_work(10, 300, "w")
    for _ in range(3):
        clock.advance(150)
        assert await provider.renew_activity_lock(work.work_id, work.lock_token, 300) is True
    assert await provider.fetch_activity_work(10, 30_000, "other") == []
    assert await provider.complete_activities([completion(work)]) == [True]


async def test_renewal_of_unknown_work_is_refused(provider):
    assert await provider.renew_activity_lock(12345, "nobody", 30_000) is False


async def test_renewal_learns_the_instance_was_deleted(provider):
    await _schedule(provider, "A")
    [work] = await provider.fetch_activity_work(10, 30_000, "w")
    await provider.delete_instances(["a"])
    assert await provider.renew_activity_lock(work.work_id, work.lock_token, 30_000) is False
    assert await provider.complete_activities([completion(work)]) == [False]


async def test_abandoned_activity_is_fetched_again(provider):
    await _schedule(provider, "A")
    [work] = await provider.fetch_activity_work(10, 30_000, "w")
    await provider.abandon_activity(work.work_id, work.lock_token)
    [again] = await provider.fetch_activity_work(10, 30_000, "w")
    assert again.work_id == work.work_id and again.lock_token != work.lock_token
    assert again.delivery_count == 2
    assert await provider.complete_activities([completion(work)]) == [False]


async def test_abandon_with_delay_hides_the_work_until_then(provider, clock):
    await _schedule(provider, "A")
    [work] = await provider.fetch_activity_work(10, 30_000, "w")
    await provider.abandon_activity(work.work_id, work.lock_token, delay_ms=300)
    assert await provider.fetch_activity_work(10, 30_000, "w") == []
    clock.advance(600)
    assert len(await provider.fetch_activity_work(10, 30_000, "w")) == 1


async def test_abandon_without_counting_keeps_the_delivery_count(provider):
    await _schedule(provider, "A")
    [work] = await provider.fetch_activity_work(10, 30_000, "w")
    await provider.abandon_activity(work.work_id, work.lock_token, count_delivery=False)
    [again] = await provider.fetch_activity_work(10, 30_000, "w")
    assert again.delivery_count == 1


async def test_abandon_with_a_stale_token_changes_nothing(provider):
    await _schedule(provider, "A")
    [work] = await provider.fetch_activity_work(10, 30_000, "w")
    await provider.abandon_activity(work.work_id, "stale")
    assert await provider.fetch_activity_work(10, 30_000, "w") == []
    assert await provider.complete_activities([completion(work)]) == [True]


async def test_a_batch_holding_a_stale_and_a_fresh_completion_of_one_item_stores_the_fresh_one_only(provider, clock):
    """Completions in one batch are judged each by its own token: the lease that moved on is
    refused even when the lease that holds the item is in the same batch."""
    await _schedule(provider, "A", "B")
    stale = await provider.fetch_activity_work(10, 100, "w1")
    clock.advance(300)
    fresh = await provider.fetch_activity_work(10, 30_000, "w2")
    batch = [completion(stale[0], "stale a"), completion(fresh[0], "fresh a"), completion(fresh[1], "fresh b")]
    assert await provider.complete_activities(batch) == [False, True, True]
    assert [m.message.body.result for m in (await fetch_one(provider, "a")).messages] == ["fresh a", "fresh b"]
    assert (await provider.queue_depths()).worker == 0
