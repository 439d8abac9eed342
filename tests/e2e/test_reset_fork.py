"""Reset an instance to an event (after fixing its code), or fork it into a new instance."""

from __future__ import annotations

import asyncio

import pytest

from duroxide_cli import Registry


def counting_app(runs: dict[str, int], *, fixed: bool) -> Registry:
    app = Registry()

    @app.activity("A")
    async def a(ctx, x):
        runs["A"] = runs.get("A", 0) + 1
        return x + 1

    @app.activity("B")
    async def b(ctx, x):
        runs["B"] = runs.get("B", 0) + 1
        return x * 10

    @app.orchestration("Flow")
    def flow(ctx, x):
        first = yield ctx.schedule_activity("A", x)
        second = yield ctx.schedule_activity("B", first)
        if not fixed:
            return first + "oops"  # the bug: TypeError
        return [first, second]

    return app


async def test_reset_after_fixing_the_code_reruns_only_the_failed_turn(env):
    runs: dict[str, int] = {}
    async with env.runtime(registry=counting_app(runs, fixed=False)):
        await env.client.start_orchestration("f-1", "Flow", 1)
        failed = await env.client.wait_for_orchestration("f-1", timeout_ms=10000)
    assert failed.status == "Failed" and failed.failure.error_type == "TypeError"

    new_execution = await env.client.reset_instance("f-1", reason="fixed the bug")
    assert new_execution == 2
    async with env.runtime(registry=counting_app(runs, fixed=True)):
        state = await env.client.wait_for_orchestration("f-1", timeout_ms=10000)
    assert state.status == "Completed" and state.output == [2, 20] and state.execution_id == 2
    assert runs == {"A": 1, "B": 2}, "A finished before the failing turn; B's result came in that turn"
    old = await env.client.read_history("f-1", 1)
    assert old[-1].kind == "OrchestrationFailed"
    new = await env.client.read_history("f-1")
    assert [e.kind for e in new[:4]] == [e.kind for e in old[:4]]
    assert new[4].kind == "ExecutionReset" and new[4].body.from_event_id == 4 and new[4].body.reason == "fixed the bug"


async def test_events_raised_after_the_reset_point_are_delivered_again_in_order(env):
    logged: list = []

    @env.app.activity("Log")
    async def log(ctx, value):
        logged.append(value)
        return value

    @env.app.orchestration("Collect")
    def collect(ctx):
        got = []
        for _ in range(3):
            value = yield ctx.wait_for_event("item")
            got.append((yield ctx.schedule_activity("Log", value)))
        return got

    async with env.runtime():
        await env.client.start_orchestration("c-1", "Collect")
        for i in range(3):
            await env.client.raise_event("c-1", "item", i)
        assert (await env.client.wait_for_orchestration("c-1", timeout_ms=10000)).output == [0, 1, 2]
        history = await env.client.read_history("c-1")
        first_log = next(e.event_id for e in history if e.kind == "ActivityScheduled")
        await env.client.reset_instance("c-1", first_log - 1)
        state = await env.client.wait_for_orchestration("c-1", timeout_ms=10000)
    assert state.output == [0, 1, 2] and state.execution_id == 2
    assert logged == [0, 1, 2, 0, 1, 2], "every Log ran after the reset point, so each runs again"


async def test_a_timer_pending_at_the_reset_point_is_started_again(env):
    @env.app.orchestration("Nap")
    def nap(ctx):
        yield ctx.schedule_timer(300)
        return "rested"

    async with env.runtime():
        await env.client.start_orchestration("n-1", "Nap")
        await asyncio.sleep(0.1)
        assert await env.client.reset_instance("n-1", 2) == 2
        state = await env.client.wait_for_orchestration("n-1", timeout_ms=10000)
    assert state.status == "Completed" and state.output == "rested" and state.execution_id == 2
    assert (await env.client.get_queue_depths()).timer == 0


async def test_a_child_running_at_the_reset_point_reports_to_the_new_execution(env):
    @env.app.orchestration("Child")
    def child(ctx):
        return (yield ctx.wait_for_event("go"))

    @env.app.orchestration("Parent")
    def parent(ctx):
        result = yield ctx.schedule_sub_orchestration_with_id("Child", "kid")
        return {"child": result}

    async with env.runtime():
        await env.client.start_orchestration("p-1", "Parent")
        for _ in range(200):
            if (await env.client.get_status("kid")) is not None:
                break
            await asyncio.sleep(0.02)
        await env.client.reset_instance("p-1", 2)
        await env.client.raise_event("kid", "go", 7)
        state = await env.client.wait_for_orchestration("p-1", timeout_ms=10000)
    assert state.status == "Completed" and state.output == {"child": 7} and state.execution_id == 2


async def test_fork_copies_an_instance_up_to_an_event_and_leaves_it_alone(env):
    runs: dict[str, int] = {}
    async with env.runtime(registry=counting_app(runs, fixed=True)):
        await env.client.start_orchestration("orig", "Flow", 1)
        original = await env.client.wait_for_orchestration("orig", timeout_ms=10000)
        new_id = await env.client.fork_instance("orig", 3)
        again = await env.client.fork_instance("orig", 3)
        forked = await env.client.wait_for_orchestration(new_id, timeout_ms=10000)
        await env.client.wait_for_orchestration(again, timeout_ms=10000)
    assert (new_id, again) == ("orig-fork-1", "orig-fork-2")
    assert forked.output == original.output == [2, 20]
    assert runs == {"A": 1, "B": 3}, "the forks kept A's result and ran B again"
    assert (await env.client.get_status("orig")).execution_id == 1


async def test_bad_reset_and_fork_points_are_refused(env):
    @env.app.orchestration("Child")
    def child(ctx):
        return (yield ctx.wait_for_event("go"))

    @env.app.orchestration("Parent")
    def parent(ctx):
        return (yield ctx.schedule_sub_orchestration("Child"))

    async with env.runtime():
        await env.client.start_orchestration("p-2", "Parent")
        for _ in range(200):
            if len(await env.client.read_history("p-2")) >= 2:
                break
            await asyncio.sleep(0.02)
    with pytest.raises(ValueError, match="event 99 is not in the history: choose an event from 1 to 2"):
        await env.client.reset_instance("p-2", 99)
    with pytest.raises(ValueError, match="has not finished by that event"):
        await env.client.fork_instance("p-2", 2)


async def test_work_pending_at_the_reset_point_is_scheduled_again_once_not_at_every_later_turn(env):
    runs: list[int] = []
    first_run_may_end = asyncio.Event()

    @env.app.activity("Slow")
    async def slow(ctx, x):
        runs.append(x)
        if len(runs) == 1:
            await first_run_may_end.wait()  # the old execution's run: its result arrives after the reset
        return x * 2

    @env.app.orchestration("OneStep")
    def one_step(ctx, x):
        doubled = yield ctx.schedule_activity("Slow", x)
        later = yield ctx.schedule_timer(50)
        return [doubled, later]

    async with env.runtime():
        await env.client.start_orchestration("o-1", "OneStep", 4)
        for _ in range(500):
            if runs:
                break
            await asyncio.sleep(0.01)
        history = await env.client.read_history("o-1")
        scheduled = next(e.event_id for e in history if e.kind == "ActivityScheduled")
        assert await env.client.reset_instance("o-1", scheduled) == 2
        state = await env.client.wait_for_orchestration("o-1", timeout_ms=10000)
        first_run_may_end.set()
    assert state.status == "Completed" and state.output == [8, None]
    assert runs == [4, 4], "run once before the reset and once again after it, however often the code is replayed"
    new = await env.client.read_history("o-1")
    assert [e.kind for e in new].count("ActivityCompleted") == 1
