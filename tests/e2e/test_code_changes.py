"""Code changed under a running instance: the first divergence fails it at once, with the line."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

from duroxide_cli import ActivityError, Registry, RetryPolicy


def _line_of(fn, marker: str) -> str:
    lines, first = inspect.getsourcelines(fn)
    (line,) = [first + i for i, text in enumerate(lines) if marker in text]
    return f"{Path(inspect.getsourcefile(fn) or '').name}:{line}"


async def test_a_retry_replacing_a_caught_failure_is_reported_as_nondeterminism(env):
    calls = {"Flaky": 0}

    async def flaky(ctx, _):
        calls["Flaky"] += 1
        raise ConnectionError("down")

    async def fallback(ctx, _):
        return "fallback"

    def before(ctx):
        try:
            yield ctx.schedule_activity("Flaky")
        except ActivityError:
            yield ctx.schedule_activity("Fallback")
        return (yield ctx.wait_for_event("go"))

    def after(ctx):
        yield ctx.schedule_activity_with_retry("Flaky", None, RetryPolicy(max_attempts=3, initial_delay_ms=10))  # <- retry
        return (yield ctx.wait_for_event("go"))

    old, new = Registry(), Registry()
    for registry, fn in ((old, before), (new, after)):
        registry.activity("Flaky")(flaky)
        registry.activity("Fallback")(fallback)
        registry.orchestration("Flow")(fn)

    async with env.runtime(registry=old):
        await env.client.start_orchestration("f-1", "Flow")
        for _ in range(200):
            history = await env.client.read_history("f-1")
            if any(e.kind == "EventSubscribed" for e in history):
                break
            await asyncio.sleep(0.02)
    async with env.runtime(registry=new):
        await env.client.raise_event("f-1", "go", 1)
        state = await env.client.wait_for_orchestration("f-1", timeout_ms=10000)

    assert state.status == "Failed"
    assert state.failure.error_type == "NondeterminismError"
    assert "ActivityScheduled 'Fallback'" in state.error
    assert "back-off timer before attempt 2" in state.error
    assert _line_of(after, "# <- retry") in state.error
    assert calls["Flaky"] == 1, "the new code ran no activity"
