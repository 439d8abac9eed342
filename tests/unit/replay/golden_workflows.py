"""The orchestrations behind the golden histories in ``golden/``, and the turns that record them.

Each scenario runs its orchestration turn by turn through the Harness with fixed times and
GUIDs, so the recorded history is the same on every run. ``test_golden.py`` checks that the
files still match what the engine records, and that each file replays to its recorded ending.
Set ``DUROXIDE_REGENERATE_GOLDEN=1`` to rewrite the files after an intended change of format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from duroxide_cli.errors import ActivityError
from duroxide_cli.model.options import RetryPolicy

from .builders import activity_done, activity_error, child_done, raised, timer_fired
from .harness import Harness


def order_flow(ctx, order):
    """Charge, pick every line in parallel, ship through a child orchestration, stamp the time."""
    ctx.set_custom_status("charging")
    receipt = yield ctx.schedule_activity("Charge", {"id": order["id"], "total": order["total"]})
    ctx.set_custom_status("picking")
    picked = yield ctx.all([ctx.schedule_activity("Pick", line) for line in order["lines"]])
    shipment = yield ctx.schedule_sub_orchestration("Shipping", {"id": order["id"], "items": picked})
    finished_at = yield ctx.utc_now()
    yield ctx.start_orchestration("Audit", f"audit-{order['id']}", {"order": order["id"]})
    ctx.set_custom_status("done")
    return {"receipt": receipt, "picked": picked, "shipment": shipment, "finished_at": finished_at}


def record_order_flow(h: Harness) -> None:
    h.start({"id": 42, "total": 30, "lines": ["book", "pen", "lamp"]}, name="Order", now_ms=1_000)
    h.turn(activity_done(h.activity("Charge"), {"charged": 30}), now_ms=2_000)
    picks = h.scheduled("ActivityScheduled", "Pick")
    h.turn(activity_done(picks[2], "lamp#1"), activity_done(picks[0], "book#7"), now_ms=3_000)
    h.turn(activity_done(picks[1], "pen#3"), now_ms=4_000)
    h.turn(child_done(h.scheduled("SubOrchestrationScheduled")[0], {"tracking": "TRK-1"}), now_ms=5_000)


def approval_race(ctx, request):
    """Wait a day for a manager; if the timer wins, escalate."""
    index, decision = yield ctx.race(ctx.wait_for_event("Approval"), ctx.schedule_timer(86_400_000))
    if index == 1:
        decision = yield ctx.schedule_activity("Escalate", request)
    return {"decision": decision, "timed_out": index == 1}


def record_approval_race(h: Harness) -> None:
    h.start({"amount": 900}, name="Approval", now_ms=1_000)
    h.turn(timer_fired(h.timers()[0]), now_ms=86_401_000)
    h.turn(activity_done(h.activity("Escalate"), "approved by director"), now_ms=86_402_000)


def retry_backoff(ctx, payment):
    """Three attempts with exponential back-off; the third one works."""
    policy = RetryPolicy(max_attempts=3, backoff="exponential", initial_delay_ms=1_000, timeout_ms=30_000)
    try:
        result = yield ctx.schedule_activity_with_retry("CallBank", payment, policy)
    except ActivityError as error:
        return {"error": error.message}
    return {"result": result}


def record_retry_backoff(h: Harness) -> None:
    h.start({"iban": "DE00"}, name="Payment", now_ms=1_000)
    h.turn(activity_error(h.activity("CallBank", 0), "ConnectionError", "bank unreachable"), now_ms=1_500)
    h.turn(timer_fired(h.timers()[-1]), now_ms=2_500)
    h.turn(activity_error(h.activity("CallBank", 1), "ConnectionError", "bank unreachable"), now_ms=3_000)
    h.turn(timer_fired(h.timers()[-1]), now_ms=5_000)
    h.turn(activity_done(h.activity("CallBank", 2), {"ok": True}), now_ms=5_200)


def counter(ctx, state):
    """Count ticks; every execution handles one tick, then continues as new."""
    tick = yield ctx.wait_for_event("Tick")
    total = state["total"] + tick
    if state["executions"] < 10:
        yield ctx.continue_as_new({"total": total, "executions": state["executions"] + 1})
    return total


def record_counter(h: Harness) -> None:
    h.start({"total": 12, "executions": 3}, name="Counter", now_ms=1_000)
    h.turn(raised("Reset"), raised("Tick", 5), raised("Tick", 7), now_ms=2_000)


def order_v1(ctx, order):
    """The first version of a small order flow; the golden history stops half way."""
    receipt = yield ctx.schedule_activity("Charge", order)
    yield ctx.schedule_timer(60_000)
    shipment = yield ctx.schedule_activity("Ship", {"order": order, "receipt": receipt})
    return shipment


def record_order_v1(h: Harness) -> None:
    h.start({"id": 7}, name="SmallOrder", now_ms=1_000)
    h.turn(activity_done(h.activity("Charge"), "rcpt-7"), now_ms=2_000)


@dataclass(frozen=True)
class Scenario:
    name: str
    orchestration: Callable[..., Any]
    record: Callable[[Harness], None]
    instance_id: str
    execution_id: int = 1


SCENARIOS = [
    Scenario("order_fan_out", order_flow, record_order_flow, "order-42"),
    Scenario("race_with_timer", approval_race, record_approval_race, "approval-1"),
    Scenario("retry_backoff", retry_backoff, record_retry_backoff, "payment-1"),
    Scenario("continue_as_new", counter, record_counter, "counter-1", execution_id=3),
    Scenario("nondeterministic_order", order_v1, record_order_v1, "small-order-7"),
]


def record(scenario: Scenario) -> Harness:
    h = Harness(scenario.orchestration, instance_id=scenario.instance_id, execution_id=scenario.execution_id)
    scenario.record(h)
    return h
