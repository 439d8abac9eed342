"""Orchestration traces are emitted once (never on replay) and carry the instance's fields."""

from __future__ import annotations

import logging


async def test_traces_are_emitted_once_even_when_every_turn_replays(env, caplog):
    @env.app.activity("Step")
    async def step(ctx, n):
        ctx.trace_info(f"activity {n}")
        return n

    @env.app.orchestration("Traced")
    def traced(ctx):
        for n in range(3):
            ctx.trace_info(f"before step {n}")
            yield ctx.schedule_activity("Step", n)
        ctx.trace_warn("done")
        return "ok"

    caplog.set_level(logging.DEBUG, logger="duroxide")
    state = await env.run("Traced", instance_id="t-1")
    assert state.output == "ok"
    messages = [r.getMessage() for r in caplog.records if r.name == "duroxide.orchestration"]
    assert [m for m in messages if m.startswith("before step")] == ["before step 0", "before step 1", "before step 2"]
    assert messages.count("done") == 1
    record = next(r for r in caplog.records if r.getMessage() == "before step 1")
    assert (record.instance_id, record.execution_id, record.orchestration_name, record.orchestration_version) == (
        "t-1", 1, "Traced", "1.0.0")
    activity = next(r for r in caplog.records if r.getMessage() == "activity 2")
    assert activity.name == "duroxide.activity"
    assert (activity.activity_name, activity.instance_id) == ("Step", "t-1")
    assert activity.activity_id > 0 and activity.worker_id


def test_library_adds_no_handlers():
    import subprocess
    import sys

    script = (
        "import logging, duroxide_cli, duroxide_cli.runtime, duroxide_cli.providers.sqlite\n"
        "names = ['duroxide', 'duroxide.orchestration', 'duroxide.activity', 'duroxide.provider']\n"
        "print([(n, logging.getLogger(n).handlers, logging.getLogger(n).level) for n in names])"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == str([(n, [], 0) for n in ["duroxide", "duroxide.orchestration", "duroxide.activity", "duroxide.provider"]])


async def test_a_losing_race_timer_is_gone_with_the_end_but_a_late_event_is_a_warning(env, caplog):
    import asyncio

    @env.app.orchestration("QuickApproval")
    def quick_approval(ctx):
        winner = yield ctx.race(ctx.wait_for_event("ok"), ctx.schedule_timer(300))
        return winner.index

    caplog.set_level(logging.DEBUG, logger="duroxide")
    async with env.runtime():
        await env.client.start_orchestration("q-1", "QuickApproval")
        await env.client.raise_event("q-1", "ok")
        assert (await env.client.wait_for_orchestration("q-1")).output == 0
        await asyncio.sleep(0.6)  # the losing timer was due now; the end removed it
        await env.client.raise_event("q-1", "ok")
        await asyncio.sleep(0.3)
    dropped = [r for r in caplog.records if r.getMessage().startswith("dropped")]
    assert [(r.levelname, r.getMessage().split()[1]) for r in dropped] == [("WARNING", "EventRaised")]
