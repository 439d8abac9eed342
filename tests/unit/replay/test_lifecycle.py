"""How an execution ends: continue-as-new (carrying undelivered events) and cancellation."""

from __future__ import annotations

from duroxide_cli.history import EventRaised
from duroxide_cli.replay.actions import (
    CancelActivity,
    Cancelled,
    CancelSubOrchestration,
    Completed,
    ContinuedAsNew,
    Failed,
)

from .builders import HistoryBuilder, activity_done, cancel, raised, start_message, timer_fired
from .harness import Harness, replay


def counter(ctx, state):
    yield ctx.wait_for_event("Tick")
    if state["n"] < 2:
        yield ctx.continue_as_new({"n": state["n"] + 1})
    return state["n"]


def test_continue_as_new_ends_the_execution_with_the_new_input():
    h = Harness(counter)
    h.start({"n": 0})
    result = h.turn(raised("Tick"))
    assert result.outcome == ContinuedAsNew({"n": 1}, None, ())
    assert h.kinds[-1] == "ContinuedAsNew"
    assert h.history[-1].body.input == {"n": 1}


def test_continue_as_new_carries_events_nobody_waited_for():
    h = Harness(counter)
    h.start({"n": 0})
    result = h.turn(raised("Other", "x"), raised("Tick", 1), raised("Tick", 2))
    # "Other" was recorded and never taken; "Tick" 2 arrived after the code had continued as new
    assert result.outcome.carried_events == (EventRaised("Other", "x"), EventRaised("Tick", 2))
    assert result.dropped == []
    assert [e.kind for e in result.new_events] == ["EventRaised", "EventRaised", "ContinuedAsNew"]


def test_next_execution_sees_carried_events_first():
    h = Harness(counter)
    h.start({"n": 0})
    first = h.turn(raised("Tick", 1), raised("Tick", 2))

    second = Harness(counter, execution_id=2)
    second.start({"n": 1})
    carried = [raised(e.name, e.data) for e in first.outcome.carried_events]
    assert second.turn(*carried).outcome == ContinuedAsNew({"n": 2}, None, ())
    assert second.history[0].body.input == {"n": 1}


def test_continue_as_new_names_a_version():
    def upgrade(ctx):
        yield ctx.continue_as_new("state", version="2.0.0")

    assert Harness(upgrade).start().outcome == ContinuedAsNew("state", "2.0.0", ())


def test_continue_as_new_cancels_work_still_in_flight():
    def wf(ctx):
        yield ctx.race(ctx.wait_for_event("Go"), ctx.schedule_activity("Heartbeat"))
        yield ctx.continue_as_new(None)

    h = Harness(wf)
    h.start()
    result = h.turn(raised("Go"))
    assert result.actions == [CancelActivity(3)]
    assert isinstance(result.outcome, ContinuedAsNew)


def test_replayed_continue_as_new_matches_the_recorded_ending():
    h = HistoryBuilder()
    h.started(input={"n": 0})
    h.event_subscribed("Tick")
    h.event_raised("Tick")
    h.continued_as_new({"n": 1})

    replayer, result = replay(counter, h.events)
    assert replayer.divergence is None
    assert result.outcome == ContinuedAsNew({"n": 1}, None, ())
    assert result.new_events == []


def shipping(ctx):
    yield ctx.all(
        [ctx.schedule_activity("Pack"), ctx.schedule_sub_orchestration("Delivery"), ctx.schedule_timer(10_000)]
    )
    return "shipped"


def test_cancel_cancels_every_pending_activity_and_child():
    h = Harness(shipping, instance_id="order-1")
    h.start()
    result = h.turn(cancel())
    assert result.actions == [
        CancelActivity(2),
        CancelSubOrchestration("order-1::1::3", "the parent no longer waits for it"),
    ]
    assert isinstance(result.outcome, Cancelled)


def test_completions_after_cancel_are_dropped_quietly():
    h = Harness(shipping)
    h.start()
    h.turn(cancel())
    late = h.turn(activity_done(2), timer_fired(h.event(4)))
    assert late.new_events == []
    assert [d.warn for d in late.dropped] == [False, False]


def test_cancel_of_a_finished_execution_changes_nothing():
    def quick(ctx):
        return "done"
        yield  # pragma: no cover

    h = Harness(quick)
    h.start()
    result = h.turn(cancel())
    assert result.outcome == Completed("done") and result.new_events == []


def test_failed_outcome_carries_the_failure_details():
    def wf(ctx):
        yield ctx.schedule_timer(1)
        raise LookupError("no such customer")

    h = Harness(wf)
    h.start()
    result = h.turn(timer_fired(h.event(2)))
    assert isinstance(result.outcome, Failed)
    failure = result.outcome.failure
    assert (failure.error_type, failure.message) == ("LookupError", "no such customer")
    assert "Traceback" in failure.details and 'raise LookupError("no such customer")' in failure.details


def test_event_queued_before_the_start_message_is_applied_after_the_start():
    def next_execution(ctx, state):
        tick = yield ctx.wait_for_event("Tick")
        return [state, tick]

    h = Harness(next_execution, execution_id=2)
    result = h.turn(raised("Tick", 9), start_message(input="carried state", execution_id=2))
    assert result.dropped == []
    assert h.kinds == ["OrchestrationStarted", "EventSubscribed", "EventRaised", "OrchestrationCompleted"]
    assert result.outcome == Completed(["carried state", 9])
