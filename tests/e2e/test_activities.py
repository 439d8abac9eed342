"""Activities: async and sync, results, typed failures, contexts."""

from __future__ import annotations

import threading

from duroxide_cli import ActivityError


async def test_async_activity_result_is_the_orchestration_output(env):
    @env.app.activity("Charge")
    async def charge(ctx, order):
        return {"charged": order["total"]}

    @env.app.orchestration("Order")
    def order(ctx, order):
        paid = yield ctx.schedule_activity("Charge", order)
        return paid

    state = await env.run("Order", {"id": 1, "total": 5})
    assert state.status == "Completed"
    assert state.output == {"charged": 5}
    assert state.version == "1.0.0"


async def test_sync_activity_runs_in_a_thread_pool(env):
    seen = {}

    @env.app.activity()
    def Blocking(ctx, x):
        seen["thread"] = threading.current_thread().name
        return x * 2

    @env.app.orchestration()
    def Double(ctx, x):
        return (yield ctx.schedule_activity("Blocking", x))

    state = await env.run("Double", 21)
    assert state.output == 42
    assert seen["thread"] != threading.main_thread().name


async def test_activity_failure_surfaces_as_activity_error_with_its_fields(env):
    @env.app.activity("Boom")
    async def boom(ctx, _):
        raise ValueError("card declined")

    @env.app.orchestration("Catch")
    def catch(ctx):
        try:
            yield ctx.schedule_activity("Boom", 1)
        except ActivityError as error:
            return [error.activity_name, error.error_type, error.message, "card declined" in error.details]

    state = await env.run("Catch")
    assert state.output == ["Boom", "ValueError", "card declined", True]


async def test_unhandled_activity_failure_fails_the_instance(env):
    @env.app.activity("Boom")
    async def boom(ctx, _):
        raise KeyError("sku")

    @env.app.orchestration("Uncaught")
    def uncaught(ctx):
        yield ctx.schedule_activity("Boom")

    state = await env.run("Uncaught")
    assert state.status == "Failed"
    assert state.failure.error_type == "ActivityError"
    assert "Boom" in state.error and "KeyError" in state.error


async def test_activity_context_carries_the_instance_and_activity_fields(env):
    @env.app.activity("Who")
    async def who(ctx):
        return [ctx.instance_id, ctx.execution_id, ctx.orchestration_name, ctx.orchestration_version,
                ctx.activity_name, ctx.activity_id, ctx.attempt, bool(ctx.worker_id), ctx.is_cancelled()]

    @env.app.orchestration("Ask")
    def ask(ctx):
        return (yield ctx.schedule_activity("Who"))

    state = await env.run("Ask", instance_id="ask-1")
    assert state.output == ["ask-1", 1, "Ask", "1.0.0", "Who", 2, 1, True, False]


async def test_completed_activities_run_once_across_many_steps(env):
    calls = []

    @env.app.activity("Step")
    async def step(ctx, n):
        calls.append(n)
        return n

    @env.app.orchestration("Chain")
    def chain(ctx, n):
        total = 0
        for i in range(n):
            total += yield ctx.schedule_activity("Step", i)
        return total

    state = await env.run("Chain", 30)
    assert state.output == sum(range(30))
    assert calls == list(range(30))


async def test_activity_result_passes_through_json(env):
    @env.app.activity("Tuple")
    async def tuple_result(ctx):
        return {"pair": (1, 2), 3: "x"}

    @env.app.orchestration("Shape")
    def shape(ctx):
        value = yield ctx.schedule_activity("Tuple")
        return [type(value["pair"]).__name__, sorted(value)]

    state = await env.run("Shape")
    assert state.output == ["list", ["3", "pair"]]


async def test_activity_returning_a_non_json_value_fails_its_task(env):
    @env.app.activity("Obj")
    async def obj(ctx):
        return object()

    @env.app.orchestration("UsesObj")
    def uses(ctx):
        try:
            yield ctx.schedule_activity("Obj")
        except ActivityError as error:
            return error.error_type

    state = await env.run("UsesObj")
    assert state.output == "TypeError"


async def test_local_writes_wake_the_runtime_without_waiting_for_a_poll(env):
    @env.app.activity("Step")
    async def step(ctx, n):
        return n

    @env.app.orchestration("Chain5")
    def chain(ctx):
        for n in range(5):
            yield ctx.schedule_activity("Step", n)
        return "done"

    # with a 30 s poll interval, each of the ~11 hand-offs would wait for a poll tick
    state = await env.run("Chain5", poll_interval_ms=30_000, timeout_ms=20_000)
    assert state.output == "done"


async def test_failure_details_start_at_the_users_code(env):
    @env.app.activity("Explodes")
    def explodes(ctx):
        raise LookupError("no such sku")

    @env.app.orchestration("Fails")
    def fails(ctx):
        try:
            yield ctx.schedule_activity("Explodes")
        except ActivityError as error:
            activity_details = error.details
        raise RuntimeError(f"gave up; the activity said: {activity_details.splitlines()[1].strip()}")

    state = await env.run("Fails")
    details = state.failure.details
    assert details.startswith("Traceback (most recent call last):")
    assert "duroxide_cli" not in details
    assert details.splitlines()[1].strip().startswith(f'File "{__file__}"')
    assert f'File "{__file__}"' in state.error
