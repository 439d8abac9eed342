"""Fan-out/fan-in, races, retries, sub-orchestrations, continue-as-new."""

from __future__ import annotations

import asyncio

from duroxide_cli import ActivityError, RaceResult, SubOrchestrationError


def _echo(env, delay_for=None):
    @env.app.activity("Echo")
    async def echo(ctx, x):
        if delay_for and x in delay_for:
            await asyncio.sleep(delay_for[x])
        return x


async def test_all_returns_results_in_order(env):
    _echo(env, {0: 0.2})

    @env.app.orchestration("FanOut")
    def fan_out(ctx, n):
        return (yield ctx.all([ctx.schedule_activity("Echo", i) for i in range(n)]))

    state = await env.run("FanOut", 10)
    assert state.output == list(range(10))


async def test_all_raises_the_first_failure_in_list_order(env):
    @env.app.activity("Maybe")
    async def maybe(ctx, x):
        if x in (1, 3):
            raise ValueError(f"bad {x}")
        return x

    @env.app.orchestration("FanOutFail")
    def fan_out(ctx):
        try:
            yield ctx.all([ctx.schedule_activity("Maybe", i) for i in range(5)])
        except ActivityError as error:
            return error.message

    state = await env.run("FanOutFail")
    assert state.output == "bad 1"


async def test_all_with_return_exceptions_puts_errors_in_place(env):
    @env.app.activity("Maybe")
    async def maybe(ctx, x):
        if x == 1:
            raise ValueError("bad")
        return x

    @env.app.orchestration("Gather")
    def gather(ctx):
        results = yield ctx.all([ctx.schedule_activity("Maybe", i) for i in range(3)], return_exceptions=True)
        return [r if not isinstance(r, Exception) else type(r).__name__ for r in results]

    state = await env.run("Gather")
    assert state.output == [0, "ActivityError", 2]


async def test_all_mixes_task_types(env):
    _echo(env)

    @env.app.orchestration("Child")
    def child(ctx, x):
        return (yield ctx.schedule_activity("Echo", x + 1))

    @env.app.orchestration("Mixed")
    def mixed(ctx):
        return (yield ctx.all([
            ctx.schedule_activity("Echo", "a"),
            ctx.schedule_timer(50),
            ctx.schedule_sub_orchestration("Child", 1),
            ctx.wait_for_event("ev"),
        ]))

    async with env.runtime():
        await env.client.start_orchestration("m-1", "Mixed")
        await env.client.raise_event("m-1", "ev", "e")
        state = await env.client.wait_for_orchestration("m-1", timeout_ms=10000)
    assert state.output == ["a", None, 2, "e"]


async def test_race_timer_wins_and_losing_activity_sees_cancellation(env):
    observed = asyncio.Event()

    @env.app.activity("Slow")
    async def slow(ctx):
        for _ in range(500):
            if ctx.is_cancelled():
                observed.set()
                return "cancelled"
            await asyncio.sleep(0.01)
        return "finished"

    @env.app.orchestration("Race")
    def race(ctx):
        index, value = yield ctx.race(ctx.schedule_activity("Slow"), ctx.schedule_timer(100))
        return index

    async with env.runtime():
        await env.client.start_orchestration("r-1", "Race")
        state = await env.client.wait_for_orchestration("r-1", timeout_ms=10000)
        await asyncio.wait_for(observed.wait(), 5)
    assert state.output == 1


async def test_race_result_is_a_named_tuple_and_event_beats_timer(env):
    @env.app.orchestration("ApproveOrTimeout")
    def approve(ctx):
        result = yield ctx.race([ctx.wait_for_event("approve"), ctx.schedule_timer(10_000)])
        assert isinstance(result, RaceResult)
        return [result.index, result.value]

    async with env.runtime():
        await env.client.start_orchestration("a-1", "ApproveOrTimeout")
        await env.client.raise_event("a-1", "approve", "yes")
        state = await env.client.wait_for_orchestration("a-1", timeout_ms=10000)
    assert state.output == [0, "yes"]


async def test_race_loser_wait_does_not_swallow_a_later_event(env):
    @env.app.orchestration("TwoWaits")
    def two_waits(ctx):
        first = yield ctx.race(ctx.schedule_timer(50), ctx.wait_for_event("x"))
        second = yield ctx.wait_for_event("x")
        return [first.index, second]

    async with env.runtime():
        await env.client.start_orchestration("t-1", "TwoWaits")
        await asyncio.sleep(0.4)
        await env.client.raise_event("t-1", "x", "later")
        state = await env.client.wait_for_orchestration("t-1", timeout_ms=10000)
    assert state.output == [0, "later"]


async def test_nested_all_is_rejected_with_a_clear_error(env):
    _echo(env)

    @env.app.orchestration("Nested")
    def nested(ctx):
        yield ctx.all([ctx.all([ctx.schedule_activity("Echo", 1)])])

    state = await env.run("Nested")
    assert state.status == "Failed"
    assert "nested" in state.error


async def test_retry_succeeds_after_failures_with_attempt_numbers(env):
    attempts = []

    @env.app.activity("Flaky")
    async def flaky(ctx, _):
        attempts.append(ctx.attempt)
        if ctx.attempt < 3:
            raise ConnectionError("try again")
        return "ok"

    @env.app.orchestration("Retry")
    def retry(ctx):
        return (yield ctx.schedule_activity_with_retry(
            "Flaky", None, {"max_attempts": 4, "backoff": "fixed", "initial_delay_ms": 50}))

    state = await env.run("Retry")
    assert state.output == "ok"
    assert attempts == [1, 2, 3]
    kinds = await env.kinds()
    assert kinds.count("TimerCreated") == 2 and kinds.count("ActivityFailed") == 2


async def test_retry_gives_up_after_max_attempts(env):
    @env.app.activity("Never")
    async def never(ctx, _):
        raise RuntimeError(f"attempt {ctx.attempt}")

    @env.app.orchestration("GiveUp")
    def give_up(ctx):
        try:
            yield ctx.schedule_activity_with_retry("Never", 1, {"max_attempts": 3, "initial_delay_ms": 10})
        except ActivityError as error:
            return error.message

    state = await env.run("GiveUp")
    assert state.output == "attempt 3"


async def test_retry_timeout_counts_a_slow_attempt_as_failed(env):
    @env.app.activity("Hang")
    async def hang(ctx, _):
        if ctx.attempt == 1:
            while not ctx.is_cancelled():  # the timed-out attempt is told it is no longer wanted
                await asyncio.sleep(0.01)
        return ctx.attempt

    @env.app.orchestration("Bounded")
    def bounded(ctx):
        return (yield ctx.schedule_activity_with_retry(
            "Hang", None, {"max_attempts": 2, "timeout_ms": 200, "initial_delay_ms": 10}))

    state = await env.run("Bounded")
    assert state.output == 2


async def test_sub_orchestration_output_and_failure(env):
    @env.app.orchestration("Child")
    def child(ctx, x):
        if x < 0:
            raise ValueError("negative")
        yield ctx.schedule_timer(1)
        return x * 10

    @env.app.orchestration("Parent")
    def parent(ctx):
        ok = yield ctx.schedule_sub_orchestration("Child", 4)
        try:
            yield ctx.schedule_sub_orchestration_with_id("Child", "explicit-child", -1)
        except SubOrchestrationError as error:
            return [ok, error.instance_id, "negative" in str(error)]

    state = await env.run("Parent", instance_id="p-1")
    assert state.output == [40, "explicit-child", True]
    tree = await env.client.get_instance_tree("p-1")
    assert sorted(c.state.instance_id for c in tree.children) == ["explicit-child", "p-1::1::2"]


async def test_sub_orchestration_with_an_existing_id_fails_the_yield(env):
    _echo(env)

    @env.app.orchestration("Child")
    def child(ctx):
        return (yield ctx.schedule_activity("Echo", 1))

    @env.app.orchestration("Parent")
    def parent(ctx):
        try:
            yield ctx.schedule_sub_orchestration_with_id("Child", "taken")
        except SubOrchestrationError as error:
            return error.error_type

    await env.client.start_orchestration("taken", "Child")
    state = await env.run("Parent", instance_id="p-2")
    assert state.output == "InstanceAlreadyExistsError"


async def test_fire_and_forget_start_is_independent(env):
    @env.app.orchestration("Detached")
    def detached(ctx, x):
        yield ctx.schedule_timer(100)
        return x

    @env.app.orchestration("Starter")
    def starter(ctx):
        yield ctx.start_orchestration("Detached", "detached-1", "hi")
        return "started"

    async with env.runtime():
        await env.client.start_orchestration("s-1", "Starter")
        assert (await env.client.wait_for_orchestration("s-1")).output == "started"
        state = await env.client.wait_for_orchestration("detached-1", timeout_ms=10000)
    assert state.output == "hi"
    assert (await env.client.get_instance_info("detached-1")).parent_instance_id is None


async def test_continue_as_new_starts_a_fresh_execution_and_carries_events(env):
    @env.app.orchestration("Counter")
    def counter(ctx, n):
        if n == 0:
            yield ctx.wait_for_event("tick")
            yield ctx.continue_as_new(1)
        if n < 3:
            yield ctx.schedule_timer(1)
            yield ctx.continue_as_new(n + 1)
        late = yield ctx.wait_for_event("tick")
        return [n, ctx.execution_id, late]

    async with env.runtime():
        await env.client.start_orchestration("c-1", "Counter", 0)
        await env.client.raise_event("c-1", "tick", "a")
        await env.client.raise_event("c-1", "tick", "b")
        state = await env.client.wait_for_orchestration("c-1", timeout_ms=10000)
    assert state.output == [3, 4, "b"]
    executions = await env.client.list_executions("c-1")
    assert [e.execution_id for e in executions] == [1, 2, 3, 4]
    history = await env.client.read_history("c-1")
    assert history[0].kind == "OrchestrationStarted" and history[0].body.input == 3
