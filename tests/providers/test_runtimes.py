"""The runtimes' rows: registered, refreshed, listed by when they were last seen, removed."""

from __future__ import annotations

from duroxide_cli.providers.base import RuntimeInfo


def _runtime(worker_id: str, started_at_ms: int = 1000, last_seen_at_ms: int = 1000, app: str | None = "app.py") -> RuntimeInfo:
    return RuntimeInfo(worker_id, "host-a", 4242, app, started_at_ms, last_seen_at_ms)


async def test_a_registered_runtime_is_listed_with_every_field(provider):
    await provider.register_runtimes([_runtime("w-1", app=None)])
    assert await provider.list_runtimes() == [_runtime("w-1", app=None)]


async def test_registering_again_refreshes_the_same_row(provider):
    await provider.register_runtimes([_runtime("w-1", last_seen_at_ms=1000)])
    await provider.register_runtimes([_runtime("w-1", last_seen_at_ms=6000)])
    assert await provider.list_runtimes() == [_runtime("w-1", last_seen_at_ms=6000)]


async def test_runtimes_are_registered_in_one_batch_and_listed_earliest_started_first(provider):
    await provider.register_runtimes([_runtime("w-b", started_at_ms=2000), _runtime("w-a", started_at_ms=3000), _runtime("w-c", started_at_ms=2000)])
    assert [r.worker_id for r in await provider.list_runtimes()] == ["w-b", "w-c", "w-a"]


async def test_listing_since_a_time_leaves_out_runtimes_not_seen_since(provider):
    await provider.register_runtimes([_runtime("old", last_seen_at_ms=1000), _runtime("new", last_seen_at_ms=9000)])
    assert [r.worker_id for r in await provider.list_runtimes(seen_since_ms=9000)] == ["new"]
    assert [r.worker_id for r in await provider.list_runtimes(seen_since_ms=9001)] == []


async def test_removing_by_worker_id_and_by_last_seen(provider):
    await provider.register_runtimes([_runtime("a", last_seen_at_ms=100), _runtime("b", last_seen_at_ms=5000), _runtime("c", last_seen_at_ms=9000)])
    assert await provider.remove_runtimes(["c", "missing"]) == 1
    assert await provider.remove_runtimes(seen_before_ms=1000) == 1
    assert [r.worker_id for r in await provider.list_runtimes()] == ["b"]
    assert await provider.remove_runtimes() == 0


async def test_a_runtime_registered_by_one_process_is_listed_by_another(provider, other_process):
    await provider.register_runtimes([_runtime("w-1")])
    assert [r.worker_id for r in await other_process.list_runtimes()] == ["w-1"]
