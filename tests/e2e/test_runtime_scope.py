"""A Runtime limited to one root instance serves that instance's tree and leaves the rest alone."""

from __future__ import annotations

import asyncio

from duroxide_cli import Runtime


def _register(env, runs: list[str], release: asyncio.Event) -> None:
    @env.app.activity("Blocks")
    async def blocks(ctx):
        runs.append(ctx.instance_id)
        await release.wait()
        return "released"

    @env.app.orchestration("UsesBlocks")
    def uses_blocks(ctx):
        return (yield ctx.schedule_activity("Blocks"))

    @env.app.activity("Add")
    async def add(ctx, pair):
        return pair[0] + pair[1]

    @env.app.orchestration("Leaf")
    def leaf(ctx, x):
        return (yield ctx.schedule_activity("Add", [x, 1]))

    @env.app.orchestration("Middle")
    def middle(ctx, x):
        return (yield ctx.schedule_sub_orchestration("Leaf", x))

    @env.app.orchestration("Root")
    def root(ctx, x):
        yield ctx.start_orchestration("Leaf", "started-by-root", x)
        first, second = yield ctx.all(
            [ctx.schedule_sub_orchestration("Middle", x), ctx.schedule_sub_orchestration_with_id("Leaf", "leaf-of-root", x)]
        )
        return [first, second]


async def test_a_scoped_runtime_runs_its_tree_and_no_other_instances_or_activities(env):
    runs: list[str] = []
    release = asyncio.Event()
    _register(env, runs, release)

    # another instance's activity is left in the queue by a runtime that stopped while it ran
    runtime = Runtime(env.provider, registry=env.app, options=env.options())
    await runtime.start()
    await env.client.start_orchestration("other", "UsesBlocks")
    while not runs:
        await asyncio.sleep(0.02)
    await runtime.shutdown(timeout_ms=50)
    assert (await env.provider.queue_depths()).worker == 1
    await env.client.start_orchestration("pending", "Leaf", 1)
    release.set()

    async with Runtime(env.provider, registry=env.app, options=env.options(), root_instance_id="root") as scoped:
        await env.client.start_orchestration("root", "Root", 10)
        state = await env.client.wait_for_orchestration("root", timeout_ms=10_000)
        assert scoped.state == "running"
    assert (state.status, state.output) == ("Completed", [11, 11])
    statuses = _statuses(await env.client.get_instance_tree("root"))
    assert len(statuses) == 4 and set(statuses.values()) == {"Completed"}, "root, middle, its leaf, and leaf-of-root"

    assert runs == ["other"], "the other instance's activity was not run again"
    assert (await env.client.get_status("other")).status == "Running"
    assert await env.kinds("other") == ["OrchestrationStarted", "ActivityScheduled"]
    for untouched in ("pending", "started-by-root"):
        assert (await env.client.get_status(untouched)).status == "Pending"
        assert await env.client.read_history(untouched) == []


def _statuses(tree) -> dict[str, str]:
    found = {tree.state.instance_id: tree.state.status}
    for child in tree.children:
        found.update(_statuses(child))
    return found
