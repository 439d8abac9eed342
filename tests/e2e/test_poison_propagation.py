"""An instance failed as poison reaches its parent like any other failure."""

from __future__ import annotations

from duroxide_cli import SubOrchestrationError


async def test_a_poisoned_child_fails_the_parents_wait(env):
    @env.app.orchestration("Parent")
    def parent(ctx):
        try:
            yield ctx.schedule_sub_orchestration("ChildNobodyRuns")
        except SubOrchestrationError as error:
            return f"child failed: {error.error_type}"
        return "child completed"

    state = await env.run("Parent", max_delivery_attempts=1, timeout_ms=15000)
    assert state.status == "Completed"
    assert state.output == "child failed: PoisonMessageError"
