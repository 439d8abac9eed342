"""Bad input: typed errors with messages that say what to do, and nothing half-written."""

from __future__ import annotations

import pytest

from duroxide_cli import InstanceAlreadyExistsError, InstanceNotFoundError, Registry, WaitTimeoutError


async def test_starting_an_existing_instance_id_raises(env):
    await env.client.start_orchestration("dup", "Anything", 1)
    with pytest.raises(InstanceAlreadyExistsError, match="'dup' already exists"):
        await env.client.start_orchestration("dup", "Anything", 2)


async def test_non_json_input_is_a_type_error_naming_the_path_and_writes_nothing(env):
    with pytest.raises(TypeError, match=r"input\['when'\]"):
        await env.client.start_orchestration("bad", "Anything", {"when": object()})
    with pytest.raises(TypeError, match="NaN|nan"):
        await env.client.start_orchestration("bad", "Anything", [float("nan")])
    assert await env.client.get_status("bad") is None


@pytest.mark.parametrize("instance_id", ["", "x" * 257, 5])
async def test_invalid_instance_ids_are_rejected(env, instance_id):
    with pytest.raises(ValueError, match="instance id"):
        await env.client.start_orchestration(instance_id, "Anything")


def test_async_and_non_generator_orchestrations_are_rejected_at_registration():
    app = Registry()

    async def coroutine(ctx):
        return 1

    async def async_gen(ctx):
        yield 1

    def plain(ctx):
        return 1

    with pytest.raises(TypeError, match="coroutine function"):
        app.register_orchestration("C", coroutine)
    with pytest.raises(TypeError, match="async generator"):
        app.register_orchestration("G", async_gen)
    with pytest.raises(TypeError, match="not a generator function"):
        app.register_orchestration("P", plain)


async def test_yielding_a_non_task_fails_naming_the_line(env):
    @env.app.orchestration("YieldsValue")
    def yields_value(ctx):
        yield 42

    state = await env.run("YieldsValue")
    line = yields_value.__code__.co_firstlineno + 2  # the decorator line, then the def
    assert state.status == "Failed"
    assert f"test_bad_input.py:{line}" in state.error
    assert "yield tasks from ctx" in state.error


async def test_event_for_an_unknown_instance_raises(env):
    with pytest.raises(InstanceNotFoundError, match="no instance with id 'ghost'"):
        await env.client.raise_event("ghost", "go")


async def test_cancel_of_an_unknown_instance_raises(env):
    with pytest.raises(InstanceNotFoundError):
        await env.client.cancel_instance("ghost")


async def test_event_for_a_finished_instance_is_dropped(env):
    @env.app.orchestration("Done")
    def done(ctx):
        yield ctx.schedule_timer(1)
        return "ok"

    async with env.runtime():
        await env.client.start_orchestration("d-1", "Done")
        await env.client.wait_for_orchestration("d-1")
        await env.client.raise_event("d-1", "late", 1)
        await env.client.raise_event("d-1", "late", 2)
        for _ in range(100):
            depths = await env.client.get_queue_depths()
            if depths.orchestrator == 0:
                break
            import asyncio

            await asyncio.sleep(0.02)
    state = await env.client.get_status("d-1")
    assert state.status == "Completed" and state.output == "ok"
    assert "EventRaised" not in await env.kinds("d-1")


async def test_output_that_json_cannot_encode_fails_the_instance(env):
    @env.app.orchestration("BadOutput")
    def bad_output(ctx):
        yield ctx.schedule_timer(1)
        return {"x": {1, 2}}

    state = await env.run("BadOutput")
    assert state.status == "Failed"
    assert "output" in state.error and "set" in state.error


async def test_wait_timeout_is_a_typed_timeout_error(env):
    await env.client.start_orchestration("slow", "NobodyRunsThis")
    with pytest.raises(WaitTimeoutError) as info:
        await env.client.wait_for_orchestration("slow", timeout_ms=100)
    assert isinstance(info.value, TimeoutError)


async def test_unregistered_orchestration_stays_pending_with_a_reason(env):
    async with env.runtime():
        await env.client.start_orchestration("u-1", "Missing")
        for _ in range(200):
            state = await env.client.get_status("u-1")
            if state.error:
                break
            import asyncio

            await asyncio.sleep(0.02)
    assert state.status == "Pending"
    assert state.error == "orchestration 'Missing' is not registered in any process that fetched it"


async def test_orchestration_that_never_yields_fails_after_the_turn_timeout(env):
    import time

    @env.app.orchestration("Spin")
    def spin(ctx):
        time.sleep(1.5)
        yield ctx.schedule_timer(1)

    state = await env.run("Spin", turn_timeout_ms=300)
    assert state.status == "Failed"
    assert "did not yield for 300 ms" in state.error
