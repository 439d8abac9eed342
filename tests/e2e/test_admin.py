"""Admin calls and metrics."""

from __future__ import annotations

import pytest

from duroxide_cli import ExecutionInfo, InstanceInfo, InstanceRunningError, QueueDepths, SystemMetrics


def _flows(env):
    @env.app.orchestration("Ok")
    def ok(ctx, x):
        yield ctx.schedule_timer(1)
        return x

    @env.app.orchestration("Bad")
    def bad(ctx):
        yield ctx.schedule_timer(1)
        raise RuntimeError("nope")

    @env.app.orchestration("Loop")
    def loop(ctx, n):
        yield ctx.schedule_timer(1)
        if n < 2:
            yield ctx.continue_as_new(n + 1)
        return n

    @env.app.orchestration("Waits")
    def waits(ctx):
        yield ctx.wait_for_event("never")


async def test_list_instances_newest_first_with_filters(env):
    _flows(env)
    async with env.runtime():
        for i in range(3):
            await env.client.start_orchestration(f"ok-{i}", "Ok", i)
        await env.client.start_orchestration("bad-1", "Bad")
        for iid in ["ok-0", "ok-1", "ok-2", "bad-1"]:
            await env.client.wait_for_orchestration(iid)
    everything = await env.client.list_instances()
    assert [s.instance_id for s in everything] == ["bad-1", "ok-2", "ok-1", "ok-0"]
    assert [s.instance_id for s in await env.client.list_instances(status="Failed")] == ["bad-1"]
    assert len(await env.client.list_instances(name="Ok", limit=2)) == 2


async def test_instance_info_executions_history_and_prune(env):
    _flows(env)
    state = await env.run("Loop", 0, instance_id="loop")
    assert state.output == 2
    info = await env.client.get_instance_info("loop")
    assert isinstance(info, InstanceInfo)
    assert info.executions == 3 and info.state.execution_id == 3 and info.history_events > 0
    executions = await env.client.list_executions("loop")
    assert all(isinstance(e, ExecutionInfo) for e in executions)
    assert [e.status for e in executions] == ["Completed", "Completed", "Completed"]
    first = await env.client.read_history("loop", execution_id=1)
    assert first[-1].kind == "ContinuedAsNew"
    assert await env.client.prune_executions("loop", keep_last=1) == 2
    assert [e.execution_id for e in await env.client.list_executions("loop")] == [3]


async def test_delete_refuses_a_running_instance_unless_forced(env):
    _flows(env)
    async with env.runtime():
        await env.client.start_orchestration("w", "Waits")
        with pytest.raises(InstanceRunningError):
            await env.client.delete_instance("w")
        await env.client.delete_instance("w", force=True)
    assert await env.client.get_status("w") is None


async def test_system_metrics_and_queue_depths(env):
    _flows(env)
    async with env.runtime():
        await env.client.start_orchestration("a", "Ok", 1)
        await env.client.start_orchestration("b", "Bad")
        await env.client.wait_for_orchestration("a")
        await env.client.wait_for_orchestration("b")
    await env.client.start_orchestration("c", "Ok", 2)
    metrics = await env.client.get_system_metrics()
    assert isinstance(metrics, SystemMetrics)
    assert metrics.by_status.get("Completed") == 1 and metrics.by_status.get("Failed") == 1
    assert metrics.by_status.get("Pending") == 1 and metrics.total == 3
    depths = await env.client.get_queue_depths()
    assert isinstance(depths, QueueDepths)
    assert depths.orchestrator == 1


async def test_force_deleting_a_running_child_fails_the_parents_wait(env):
    import asyncio

    from duroxide_cli import SubOrchestrationError

    @env.app.orchestration("Child")
    def child(ctx):
        yield ctx.wait_for_event("never")

    @env.app.orchestration("Parent")
    def parent(ctx):
        try:
            yield ctx.schedule_sub_orchestration_with_id("Child", "doomed")
        except SubOrchestrationError as error:
            return error.error_type

    async with env.runtime():
        await env.client.start_orchestration("p", "Parent")
        for _ in range(250):
            child_state = await env.client.get_status("doomed")
            if child_state is not None and child_state.status == "Running":
                break
            await asyncio.sleep(0.02)
        await env.client.delete_instance("doomed", force=True)
        state = await env.client.wait_for_orchestration("p", timeout_ms=10000)
    assert state.output == "InstanceDeleted"
    assert await env.client.get_status("doomed") is None
