"""The orchestrations and activities the workloads run: as small as each pattern allows, so a
workload measures the runtime and the store, not user code."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from ..model.context import ActivityContext, OrchestrationContext
from ..model.registry import Registry

bench_app = Registry()

TIMER_DELAY_MS = 10
"""How long each ``timers`` instance sleeps."""

EVENT_NAME = "Go"


@bench_app.activity("Echo")
async def echo(ctx: ActivityContext, value: Any) -> Any:
    return value


@bench_app.orchestration("Hello")
def hello(ctx: OrchestrationContext, name: str) -> Generator[Any, Any, Any]:
    """One activity: the unit of ``hello`` and ``backlog``."""
    greeting = yield ctx.schedule_activity("Echo", f"hello {name}")
    return greeting


@bench_app.orchestration("FanOut")
def fan_out(ctx: OrchestrationContext, n: int) -> Generator[Any, Any, Any]:
    """``n`` activities at once, joined with ``all``."""
    results = yield ctx.all([ctx.schedule_activity("Echo", i) for i in range(n)])
    return len(results)


@bench_app.orchestration("Chain")
def chain(ctx: OrchestrationContext, n: int) -> Generator[Any, Any, Any]:
    """``n`` activities one after another, each waiting for the previous one."""
    total = 0
    for i in range(n):
        total += yield ctx.schedule_activity("Echo", i)
    return total


@bench_app.orchestration("Sleep")
def sleep(ctx: OrchestrationContext) -> Generator[Any, Any, Any]:
    """One durable timer of TIMER_DELAY_MS."""
    yield ctx.schedule_timer(TIMER_DELAY_MS)
    return None


@bench_app.orchestration("AwaitEvent")
def await_event(ctx: OrchestrationContext) -> Generator[Any, Any, Any]:
    """Waits for one event and returns its data."""
    data = yield ctx.wait_for_event(EVENT_NAME)
    return data
