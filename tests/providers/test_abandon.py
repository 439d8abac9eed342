"""Abandoning orchestration work: back-off, a visible reason, uncounted deliveries, stale tokens."""

from __future__ import annotations

from duroxide_cli.history import OrchestrationStarted

from .builders import create, event_message, fetch_all, fetch_one, turn


async def test_abandoned_instance_is_fetched_again_at_once(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    await provider.abandon_orchestration("a", work.lock_token)
    again = await fetch_one(provider, "a")
    assert again.lock_token != work.lock_token
    assert [m.delivery_count for m in again.messages] == [2]


async def test_abandon_with_delay_keeps_the_instance_back(provider, clock):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    await provider.abandon_orchestration("a", work.lock_token, delay_ms=300)
    assert await fetch_all(provider) == {}
    await provider.enqueue_message(event_message("a"))
    assert await fetch_all(provider) == {}, "new messages do not cut the back-off short"
    clock.advance(600)
    assert len((await fetch_one(provider, "a")).messages) == 2


async def test_abandon_reason_shows_as_the_error_and_the_status_stays(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    reason = "orchestration 'Flow' 1.0.0 is not registered in any process that fetched it"
    await provider.abandon_orchestration("a", work.lock_token, delay_ms=1000, reason=reason)
    record = await provider.get_instance("a")
    assert record is not None and (record.status, record.error) == ("Pending", reason)


async def test_commit_after_an_abandon_clears_the_reason(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    await provider.abandon_orchestration("a", work.lock_token, reason="not registered")
    work = await fetch_one(provider, "a")
    await provider.commit_turns([turn(work, OrchestrationStarted("Flow", "1.0.0"))])
    record = await provider.get_instance("a")
    assert record is not None and (record.status, record.error) == ("Running", None)


async def test_abandon_without_counting_undoes_the_delivery(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    await provider.abandon_orchestration("a", work.lock_token, count_delivery=False)
    again = await fetch_one(provider, "a")
    assert [m.delivery_count for m in again.messages] == [1]


async def test_uncounted_abandon_leaves_messages_that_arrived_later_alone(provider, clock):
    await create(provider, "a")
    first = await fetch_one(provider, "a", lock_timeout_ms=100)
    clock.advance(300)
    second = await fetch_one(provider, "a")
    await provider.abandon_orchestration("a", first.lock_token, count_delivery=False)
    assert await fetch_all(provider) == {}, "a stale abandon does not release the new holder's lock"
    await provider.abandon_orchestration("a", second.lock_token, count_delivery=False)
    assert [m.delivery_count for m in (await fetch_one(provider, "a")).messages] == [2]


async def test_abandon_with_a_stale_token_changes_nothing(provider):
    await create(provider, "a")
    work = await fetch_one(provider, "a")
    await provider.abandon_orchestration("a", "stale", reason="should not show")
    assert await fetch_all(provider) == {}
    record = await provider.get_instance("a")
    assert record is not None and record.error is None
    assert await provider.commit_turns([turn(work, OrchestrationStarted("Flow", "1.0.0"))]) == ["committed"]


async def test_abandon_of_an_unknown_instance_is_harmless(provider):
    await provider.abandon_orchestration("missing", "token")
