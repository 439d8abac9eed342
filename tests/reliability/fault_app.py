"""The app the fault suite runs under ``duroxide run``.

Every activity attempt appends ``start <instance> <activity id> <pid>`` to the file named by
``DUROXIDE_FAULT_MARKERS`` before it works, and every first pass over a slow turn appends
``turn <instance> <pid>``: the tests read them to know when to strike and to count re-runs.
"""

from __future__ import annotations

import os
import time

from duroxide_cli import Registry

app = Registry()


def _mark(line: str) -> None:
    path = os.environ.get("DUROXIDE_FAULT_MARKERS")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


@app.activity("Work")
def work(ctx, spec):
    _mark(f"start {ctx.instance_id} {ctx.activity_id} {os.getpid()}")
    time.sleep(spec.get("sleep", 0))
    return spec.get("value", 0)


@app.orchestration("Chain")
def chain(ctx, spec):
    total = 0
    for n in range(spec["steps"]):
        total += yield ctx.schedule_activity("Work", {"value": n, "sleep": spec.get("sleep", 0)})
    return total


@app.orchestration("FanOut")
def fan_out(ctx, spec):
    values = yield ctx.all([ctx.schedule_activity("Work", {"value": n, "sleep": spec.get("sleep", 0)}) for n in range(spec["width"])])
    return sum(values)


@app.orchestration("Timer")
def timer(ctx, spec):
    first = yield ctx.schedule_activity("Work", {"value": 1})
    yield ctx.schedule_timer(spec["delay_ms"])
    second = yield ctx.schedule_activity("Work", {"value": 2})
    return first + second


@app.orchestration("SlowTurn")
def slow_turn(ctx, spec):
    """A turn that takes ``turn_s`` seconds of orchestration code (on every replay of it too)."""
    first = yield ctx.schedule_activity("Work", {"value": 1})
    _mark(f"turn {ctx.instance_id} {os.getpid()}")
    time.sleep(spec["turn_s"])
    second = yield ctx.schedule_activity("Work", {"value": 2})
    return first + second


@app.orchestration("Waiter")
def waiter(ctx):
    first = yield ctx.schedule_activity("Work", {"value": 1})
    data = yield ctx.wait_for_event("go")
    return [first, data]


@app.orchestration("Mixed")
def mixed(ctx, n):
    """The soak's workload: one of four shapes by ``n``."""
    shape = n % 4
    if shape == 0:
        return (yield ctx.schedule_activity("Work", {"value": n}))
    if shape == 1:
        total = 0
        for step in range(3):
            total += yield ctx.schedule_activity("Work", {"value": step})
        return total
    if shape == 2:
        values = yield ctx.all([ctx.schedule_activity("Work", {"value": i}) for i in range(5)])
        return sum(values)
    yield ctx.schedule_timer(200)
    child = yield ctx.schedule_sub_orchestration("Chain", {"steps": 2})
    return child
