"""Scenarios users build: saga compensation, approval with a timeout, an eternal monitor."""

from __future__ import annotations

from duroxide_cli import ActivityError


async def test_saga_compensates_completed_steps_in_reverse_on_failure(env):
    log = []

    for step in ("Reserve", "Charge", "Ship"):
        def make(step):
            async def do(ctx, order):
                if step == "Ship" and order.get("fail_shipping"):
                    raise RuntimeError("no courier")
                log.append(step)
                return step
            return do
        env.app.register_activity(step, make(step))
        env.app.register_activity(f"Undo{step}", (lambda s: (lambda ctx, order: log.append(f"Undo{s}")))(step))

    @env.app.orchestration("Saga")
    def saga(ctx, order):
        done = []
        try:
            for step in ("Reserve", "Charge", "Ship"):
                yield ctx.schedule_activity(step, order)
                done.append(step)
        except ActivityError as error:
            for step in reversed(done):
                yield ctx.schedule_activity(f"Undo{step}", order)
            return {"compensated": done[::-1], "reason": error.message}
        return {"done": done}

    state = await env.run("Saga", {"fail_shipping": True})
    assert state.output == {"compensated": ["Charge", "Reserve"], "reason": "no courier"}
    assert log == ["Reserve", "Charge", "UndoCharge", "UndoReserve"]


async def test_approval_times_out_when_nobody_answers(env):
    @env.app.orchestration("Approval")
    def approval(ctx, timeout_ms):
        winner = yield ctx.race(ctx.wait_for_event("approved"), ctx.schedule_timer(timeout_ms))
        return "approved" if winner.index == 0 else "timed out"

    async with env.runtime():
        await env.client.start_orchestration("slow", "Approval", 150)
        await env.client.start_orchestration("fast", "Approval", 10_000)
        await env.client.raise_event("fast", "approved", True)
        slow = await env.client.wait_for_orchestration("slow")
        fast = await env.client.wait_for_orchestration("fast")
    assert (slow.output, fast.output) == ("timed out", "approved")


async def test_eternal_monitor_continues_as_new_with_a_bounded_history(env):
    checks = []

    @env.app.activity("Check")
    async def check(ctx, n):
        checks.append(n)
        return n >= 4

    @env.app.orchestration("Monitor")
    def monitor(ctx, n):
        healthy = yield ctx.schedule_activity("Check", n)
        if healthy:
            return f"healthy after {n} checks"
        yield ctx.schedule_timer(10)
        yield ctx.continue_as_new(n + 1)

    state = await env.run("Monitor", 0)
    assert state.output == "healthy after 4 checks"
    assert checks == [0, 1, 2, 3, 4]
    assert state.execution_id == 5
    assert len(await env.client.read_history("i-1")) <= 6
