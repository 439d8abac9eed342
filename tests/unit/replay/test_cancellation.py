"""Cancel is cooperative: the pending yield raises OrchestrationCancelled; terminate is a hard stop."""

from __future__ import annotations

from duroxide_cli import OrchestrationCancelled
from duroxide_cli.history import CancelRequested
from duroxide_cli.messages import Message
from duroxide_cli.replay.actions import CancelActivity, Cancelled, Completed, Continue, Failed, ScheduleActivity

from .builders import INSTANCE_ID, activity_done, cancel, start_message
from .harness import Harness


def terminate(reason: str | None = None) -> Message:
    return Message(INSTANCE_ID, CancelRequested(reason, terminate=True))


def saga(ctx):
    yield ctx.schedule_activity("Reserve")
    try:
        yield ctx.schedule_activity("Charge")
    except OrchestrationCancelled as cancelled:
        yield ctx.schedule_activity("Release", cancelled.reason)
        raise
    return "done"


def test_an_uncaught_cancel_ends_the_execution_cancelled_with_its_reason():
    def waits(ctx):
        yield ctx.wait_for_event("Go")

    h = Harness(waits)
    h.start()
    result = h.turn(cancel("customer changed their mind"))
    assert isinstance(result.outcome, Cancelled) and result.outcome.reason == "customer changed their mind"
    assert result.outcome.failure.error_type == "OrchestrationCancelled"
    assert [e.kind for e in result.new_events] == ["CancelRequested", "OrchestrationCancelled"]
    assert "yield ctx.wait_for_event" in h.history[-1].body.failure.details, "the traceback shows where it took effect"


def test_the_code_compensates_then_ends_cancelled():
    h = Harness(saga)
    h.start()
    h.turn(activity_done(2, "reserved"))
    compensating = h.turn(cancel("stop"))
    assert compensating.outcome == Continue()
    assert compensating.actions == [CancelActivity(4), ScheduleActivity(6, "Release", "stop", 1)]
    assert [e.kind for e in compensating.new_events] == ["CancelRequested", "ActivityScheduled"]
    ended = h.turn(activity_done(6, None))
    assert isinstance(ended.outcome, Cancelled) and ended.outcome.reason == "stop"


def test_code_that_swallows_the_cancel_completes_or_fails_as_it_chooses():
    def stubborn(ctx):
        try:
            yield ctx.wait_for_event("Go")
        except OrchestrationCancelled:
            return "kept going"

    def raises_instead(ctx):
        try:
            yield ctx.wait_for_event("Go")
        except OrchestrationCancelled:
            raise LookupError("cannot stop now") from None

    h = Harness(stubborn)
    h.start()
    assert h.turn(cancel()).outcome == Completed("kept going")
    h = Harness(raises_instead)
    h.start()
    outcome = h.turn(cancel()).outcome
    assert isinstance(outcome, Failed) and outcome.failure.error_type == "LookupError"


def test_a_second_cancel_while_compensating_changes_nothing():
    h = Harness(saga)
    h.start()
    h.turn(activity_done(2))
    h.turn(cancel("first"))
    again = h.turn(cancel("second"))
    assert again.outcome == Continue() and again.actions == []
    assert [e.kind for e in again.new_events] == ["CancelRequested"]
    ended = h.turn(activity_done(6))
    assert ended.outcome.reason == "first"


def test_terminate_stops_at_once_without_running_the_code():
    h = Harness(saga)
    h.start()
    h.turn(activity_done(2))
    result = h.turn(terminate("runaway"))
    assert isinstance(result.outcome, Cancelled) and result.outcome.reason == "runaway"
    assert result.outcome.failure.error_type == "Terminated"
    assert result.actions == [CancelActivity(4)]
    assert [e.kind for e in result.new_events] == ["CancelRequested", "OrchestrationCancelled"]


def test_terminate_ends_an_execution_that_is_compensating():
    h = Harness(saga)
    h.start()
    h.turn(activity_done(2))
    h.turn(cancel("stop"))
    result = h.turn(terminate("enough"))
    assert result.outcome.failure.error_type == "Terminated"
    assert result.actions == [CancelActivity(6)], "the compensation still running is cancelled too"


def test_a_cancel_queued_before_the_start_message_cancels_the_started_execution():
    def waits(ctx):
        yield ctx.wait_for_event("Go")

    h = Harness(waits)
    result = h.turn(cancel("changed my mind"), start_message())
    assert h.kinds == ["OrchestrationStarted", "EventSubscribed", "CancelRequested", "OrchestrationCancelled"]
    assert result.outcome.reason == "changed my mind"
