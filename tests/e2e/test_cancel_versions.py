"""Cancellation, versions and nondeterminism."""

from __future__ import annotations

import asyncio

from duroxide_cli import Registry, SubOrchestrationError


async def _until(predicate, timeout=10.0):
    for _ in range(int(timeout / 0.02)):
        if await predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def test_cancel_instance_sets_cancelled_with_the_reason(env):
    @env.app.orchestration("Waits")
    def waits(ctx):
        yield ctx.wait_for_event("never")

    async with env.runtime():
        await env.client.start_orchestration("w-1", "Waits")
        await _until(lambda: _status_is(env, "w-1", "Running"))
        await env.client.cancel_instance("w-1", reason="customer left")
        state = await env.client.wait_for_orchestration("w-1", timeout_ms=10000)
    assert state.status == "Cancelled"
    assert state.error == "customer left"
    assert (await env.kinds("w-1"))[-2:] == ["CancelRequested", "OrchestrationCancelled"]


async def _status_is(env, instance_id, status):
    state = await env.client.get_status(instance_id)
    return state is not None and state.status == status


async def test_cancel_cascades_to_children_and_running_activities(env):
    cancelled = asyncio.Event()

    @env.app.activity("Long")
    async def long(ctx):
        for _ in range(1000):
            if ctx.is_cancelled():
                cancelled.set()
                return None
            await asyncio.sleep(0.01)

    @env.app.orchestration("Child")
    def child(ctx):
        yield ctx.schedule_activity("Long")

    @env.app.orchestration("Parent")
    def parent(ctx):
        yield ctx.schedule_sub_orchestration_with_id("Child", "kid")

    async with env.runtime():
        await env.client.start_orchestration("dad", "Parent")
        await _until(lambda: _status_is(env, "kid", "Running"))
        await asyncio.sleep(0.2)
        await env.client.cancel_instance("dad", "stop")
        parent_state = await env.client.wait_for_orchestration("dad", timeout_ms=10000)
        child_state = await env.client.wait_for_orchestration("kid", timeout_ms=10000)
        await asyncio.wait_for(cancelled.wait(), 5)
    assert parent_state.status == "Cancelled"
    assert child_state.status == "Cancelled"


async def test_cancelled_child_raises_sub_orchestration_error_in_parent(env):
    @env.app.orchestration("Child")
    def child(ctx):
        yield ctx.wait_for_event("never")

    @env.app.orchestration("Parent")
    def parent(ctx):
        try:
            yield ctx.schedule_sub_orchestration_with_id("Child", "kid2")
        except SubOrchestrationError as error:
            return error.error_type

    async with env.runtime():
        await env.client.start_orchestration("dad2", "Parent")
        await _until(lambda: _status_is(env, "kid2", "Running"))
        await env.client.cancel_instance("kid2", "no longer needed")
        state = await env.client.wait_for_orchestration("dad2", timeout_ms=10000)
    assert state.output == "OrchestrationCancelled"


async def test_cancel_of_a_finished_instance_is_a_no_op(env):
    @env.app.orchestration("Quick")
    def quick(ctx):
        yield ctx.schedule_timer(1)
        return 1

    state = await env.run("Quick")
    await env.client.cancel_instance("i-1")
    assert (await env.client.get_status("i-1")).status == "Completed"
    assert state.output == 1


async def test_new_instances_take_the_highest_version_unless_named(env):
    @env.app.orchestration("V", version="1.0.0")
    def v1(ctx):
        yield ctx.schedule_timer(1)
        return "v1"

    @env.app.orchestration("V", version="1.10.0")
    def v110(ctx):
        yield ctx.schedule_timer(1)
        return "v1.10"

    @env.app.orchestration("V", version="1.9.0")
    def v19(ctx):
        yield ctx.schedule_timer(1)
        return "v1.9"

    async with env.runtime():
        await env.client.start_orchestration("latest", "V")
        await env.client.start_orchestration_versioned("pinned", "V", None, "1.0.0")
        latest = await env.client.wait_for_orchestration("latest")
        pinned = await env.client.wait_for_orchestration("pinned")
    assert (latest.output, latest.version) == ("v1.10", "1.10.0")
    assert (pinned.output, pinned.version) == ("v1", "1.0.0")


async def test_running_instance_keeps_its_version_after_restart_with_new_versions(env):
    def make(version_output):
        def flow(ctx):
            yield ctx.wait_for_event("go")
            return version_output
        return flow

    old = Registry()
    old.register_orchestration_versioned("Flow", "1.0.0", make("old"))
    async with env.runtime(registry=old):
        await env.client.start_orchestration("f-1", "Flow")
        await _until(lambda: _status_is(env, "f-1", "Running"))

    new = Registry()
    new.register_orchestration_versioned("Flow", "1.0.0", make("old"))
    new.register_orchestration_versioned("Flow", "2.0.0", make("new"))
    async with env.runtime(registry=new):
        await env.client.raise_event("f-1", "go")
        await env.client.start_orchestration("f-2", "Flow")
        await env.client.raise_event("f-2", "go")
        first = await env.client.wait_for_orchestration("f-1")
        second = await env.client.wait_for_orchestration("f-2")
    assert (first.output, first.version) == ("old", "1.0.0")
    assert (second.output, second.version) == ("new", "2.0.0")


async def test_changed_code_fails_the_instance_with_nondeterminism_naming_the_line(env):
    @env.app.activity("A")
    async def a(ctx):
        return "a"

    @env.app.activity("B")
    async def b(ctx):
        return "b"

    def original(ctx):
        yield ctx.schedule_activity("A")
        yield ctx.wait_for_event("go")
        return "done"

    def changed(ctx):
        yield ctx.schedule_activity("B")  # the line the error must name
        yield ctx.wait_for_event("go")
        return "done"

    first = Registry()
    first.register_activity("A", a)
    first.register_orchestration("Flow", original)
    async with env.runtime(registry=first):
        await env.client.start_orchestration("n-1", "Flow")
        await _until(lambda: _events(env, "n-1", "EventSubscribed"))

    second = Registry()
    second.register_activity("B", b)
    second.register_orchestration("Flow", changed)
    async with env.runtime(registry=second, cache_size=0):
        await env.client.raise_event("n-1", "go")
        state = await env.client.wait_for_orchestration("n-1")
    line = changed.__code__.co_firstlineno + 1
    assert state.status == "Failed"
    assert state.failure.error_type == "NondeterminismError"
    assert "ActivityScheduled 'A'" in state.error
    assert "activity 'B'" in state.error
    assert f"test_cancel_versions.py:{line}" in state.error


async def _events(env, instance_id, kind):
    try:
        return kind in await env.kinds(instance_id)
    except Exception:
        return False


async def test_cancel_of_an_instance_whose_code_no_process_has_cancels_it(env):
    async with env.runtime():
        await env.client.start_orchestration("orphan", "NoSuchOrchestration")
        for _ in range(250):
            state = await env.client.get_status("orphan")
            if state.error:
                break
            await asyncio.sleep(0.02)
        assert state.status == "Pending" and "not registered" in state.error
        await env.client.cancel_instance("orphan", "nobody runs it")
        state = await env.client.wait_for_orchestration("orphan", timeout_ms=10000)
    assert (state.status, state.error) == ("Cancelled", "nobody runs it")
    assert await env.kinds("orphan") == ["OrchestrationStarted", "CancelRequested", "OrchestrationCancelled"]
