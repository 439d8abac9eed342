"""The generator cache: hits avoid replays, misses replay to the same history."""

from __future__ import annotations

from duroxide_cli import Client, Registry, Runtime, RuntimeOptions
from duroxide_cli.providers.sqlite import SqliteProvider


def _chain_app(counter: list[int]) -> Registry:
    app = Registry()

    @app.activity("Inc")
    async def inc(ctx, n):
        return n + 1

    @app.orchestration("Chain")
    def chain(ctx, steps):
        counter[0] += 1  # counts generator starts: one per full replay
        n = 0
        for _ in range(steps):
            n = yield ctx.schedule_activity("Inc", n)
        return n

    return app


async def _run_chain(path, cache_size: int, steps: int):
    starts = [0]
    provider = await SqliteProvider.open(path)
    try:
        options = RuntimeOptions(cache_size=cache_size, poll_interval_ms=20)
        async with Runtime(provider, registry=_chain_app(starts), options=options) as runtime:
            client = Client(provider)
            await client.start_orchestration("chain", "Chain", steps)
            state = await client.wait_for_orchestration("chain", timeout_ms=60_000)
            cache = runtime.cache
            hits = cache.hits
        history = [e.to_json() for e in await client.read_history("chain")]
    finally:
        await provider.close()
    return state, starts[0], hits, history


def _without_time(events):
    return [{k: v for k, v in e.items() if k not in ("timestamp_ms",)} for e in events]


async def test_a_500_step_chain_does_not_replay_500_times(tmp_path):
    state, starts, hits, _ = await _run_chain(tmp_path / "hit.db", cache_size=100, steps=500)
    assert state.output == 500
    assert starts == 1
    assert hits >= 499


async def test_cache_miss_gives_the_same_history_as_a_hit(tmp_path):
    cached = await _run_chain(tmp_path / "a.db", cache_size=100, steps=25)
    replayed = await _run_chain(tmp_path / "b.db", cache_size=0, steps=25)
    assert cached[0].output == replayed[0].output == 25
    assert replayed[1] == 26  # a full replay at every turn
    assert _without_time(cached[3]) == _without_time(replayed[3])


async def test_a_fan_out_is_not_replayed_while_its_results_arrive(tmp_path):
    """A fan-out's turns commit while its next results arrive: the fetch that follows a commit
    (often in the same transaction) must find the generator, not replay the whole history."""
    starts = [0]
    app = Registry()

    @app.activity("Echo")
    async def echo(ctx, n):
        return n

    @app.orchestration("FanOut")
    def fan_out(ctx, n):
        starts[0] += 1
        results = yield ctx.all([ctx.schedule_activity("Echo", i) for i in range(n)])
        return sum(results)

    provider = await SqliteProvider.open(tmp_path / "fan.db")
    try:
        async with Runtime(provider, registry=app, options=RuntimeOptions(poll_interval_ms=20)) as runtime:
            client = Client(provider)
            await client.start_orchestration("fan", "FanOut", 300)
            state = await client.wait_for_orchestration("fan", timeout_ms=60_000)
            turns, hits = runtime.stats.turns, runtime.cache.hits
    finally:
        await provider.close()
    assert state.output == sum(range(300))
    assert starts[0] == 1
    assert hits == turns - 1
