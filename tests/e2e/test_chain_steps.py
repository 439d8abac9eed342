"""A chain's steps: each result runs the next turn at once on the cached generator, and that
turn's commit takes the instance's lock itself (``TurnCommit.take_lock``). Whatever arrives
between the steps -- an event, a cancel, another runtime's work -- is taken as before, and every
activity runs once."""

from __future__ import annotations

import collections

from duroxide_cli import Runtime


def _consecutive(history) -> bool:
    return [e.event_id for e in history] == list(range(1, len(history) + 1))


def _register_chain(env, during=None):
    """A "Chain" of n "Step"s returning the sum of 0..n-1; ``during(ctx, i)`` runs inside step i."""
    runs: collections.Counter[tuple[str, int]] = collections.Counter()

    @env.app.activity("Step")
    async def step(ctx, i):
        runs[(ctx.instance_id, i)] += 1
        if during is not None:
            await during(ctx, i)
        return i

    @env.app.orchestration("Chain")
    def chain(ctx, n):
        total = 0
        for i in range(n):
            total += yield ctx.schedule_activity("Step", i)
        return total

    return runs


async def test_events_raised_mid_chain_are_taken_between_its_steps(env):
    async def raise_some(ctx, i):
        if i in (3, 7):
            await env.client.raise_event(ctx.instance_id, f"at-{i}", i)

    runs = _register_chain(env, raise_some)

    @env.app.orchestration("ChainThenEvents")
    def chain_then_events(ctx, n):
        total = 0
        for i in range(n):
            total += yield ctx.schedule_activity("Step", i)
            if i == 5:
                total += yield ctx.wait_for_event("at-3")  # raised two steps before
        late = yield ctx.wait_for_event("at-7")
        return [total, late]

    state = await env.run("ChainThenEvents", 12)
    assert (state.status, state.output) == ("Completed", [sum(range(12)) + 3, 7])
    history = await env.client.read_history("i-1")
    assert _consecutive(history)
    assert [e.kind for e in history].count("ActivityCompleted") == 12
    assert [e.kind for e in history].count("EventRaised") == 2
    assert set(runs.values()) == {1}


async def test_a_cancel_mid_chain_ends_it_and_runs_no_further_step(env):
    async def cancel_at_five(ctx, i):
        if i == 5:
            await env.client.cancel_instance(ctx.instance_id, reason="enough")

    runs = _register_chain(env, cancel_at_five)
    state = await env.run("Chain", 50)
    assert (state.status, state.error) == ("Cancelled", "enough")
    assert set(runs.values()) == {1}
    assert max(i for _, i in runs) <= 6, "at most the step the cancelled turn's predecessor scheduled ran"
    history = await env.client.read_history("i-1")
    assert _consecutive(history)
    assert history[-1].kind == "OrchestrationCancelled"


async def test_two_runtimes_on_one_store_run_chains_each_step_once(env):
    runs = _register_chain(env)
    first = Runtime(env.provider, registry=env.app, options=env.options(worker_id="first"))
    second = Runtime(env.provider, registry=env.app, options=env.options(worker_id="second"))
    await first.start()
    await second.start()
    try:
        ids = [f"c-{n}" for n in range(6)]
        for instance_id in ids:
            await env.client.start_orchestration(instance_id, "Chain", 25)
        states = [await env.client.wait_for_orchestration(i, timeout_ms=30_000) for i in ids]
    finally:
        await first.shutdown(timeout_ms=2000)
        await second.shutdown(timeout_ms=2000)
    assert [(s.status, s.output) for s in states] == [("Completed", sum(range(25)))] * 6
    assert len(runs) == 6 * 25 and set(runs.values()) == {1}
    for instance_id in ids:
        assert _consecutive(await env.client.read_history(instance_id))


async def test_a_chain_of_many_steps_keeps_an_exact_history(env):
    runs = _register_chain(env)
    state = await env.run("Chain", 300, timeout_ms=60_000)
    assert (state.status, state.output) == ("Completed", sum(range(300)))
    history = await env.client.read_history("i-1")
    assert _consecutive(history)
    completed = [e.body.result for e in history if e.kind == "ActivityCompleted"]
    assert completed == list(range(300))
    assert len(runs) == 300 and set(runs.values()) == {1}


async def test_traces_of_a_step_whose_commit_was_refused_are_emitted_once(env, caplog):
    import logging

    async def raise_at_four(ctx, i):
        if i == 4:  # queued before the step's result returns: that step's commit is refused
            await env.client.raise_event(ctx.instance_id, "meanwhile", i)

    _register_chain(env, raise_at_four)

    @env.app.orchestration("TracedChain")
    def traced_chain(ctx, n):
        for i in range(n):
            yield ctx.schedule_activity("Step", i)
            ctx.trace_info(f"after step {i}")
        got = yield ctx.wait_for_event("meanwhile")
        return got

    caplog.set_level(logging.DEBUG, logger="duroxide")
    state = await env.run("TracedChain", 8)
    assert (state.status, state.output) == ("Completed", 4)
    traces = [r.getMessage() for r in caplog.records if r.name == "duroxide.orchestration" and r.getMessage().startswith("after")]
    assert traces == [f"after step {i}" for i in range(8)]
