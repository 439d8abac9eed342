"""Messages a turn cannot apply are dropped, said why, and never applied twice."""

from __future__ import annotations

from duroxide_cli.history import ActivityScheduled, OrchestrationCompleted, TimerFired
from duroxide_cli.messages import Message
from duroxide_cli.replay.actions import Completed, Continue

from .builders import INSTANCE_ID, activity_done, activity_error, child_done, raised, start_message, timer_fired
from .harness import Harness


def two_steps(ctx):
    a = yield ctx.schedule_activity("A")
    b = yield ctx.wait_for_event("Go")
    return [a, b]


def go() -> Message:
    return raised("Go", "go")


def started() -> Harness:
    h = Harness(two_steps)
    h.start()
    return h


def test_completion_for_another_execution_is_dropped_with_a_warning():
    h = started()
    result = h.turn(activity_done(2, "from the past", execution_id=7))
    assert result.new_events == [] and result.outcome == Continue()
    [dropped] = result.dropped
    assert (dropped.reason, dropped.warn) == ("a completion for execution 7, not 1", True)
    assert dropped.message.body.result == "from the past"


def test_late_completion_from_an_earlier_execution_is_dropped_quietly():
    h = Harness(two_steps, execution_id=3)
    h.start()
    result = h.turn(activity_done(2, "from execution 2", execution_id=2))
    [dropped] = result.dropped
    assert (dropped.reason, dropped.warn) == ("a completion for execution 2, not 3", False)


def test_completion_for_an_unknown_event_is_dropped_with_a_warning():
    h = started()
    result = h.turn(activity_done(99))
    assert result.new_events == []
    assert [(d.reason, d.warn) for d in result.dropped] == [
        ("a completion of event 99, which this execution never scheduled", True)
    ]


def test_completion_for_an_event_that_is_not_scheduled_work_is_dropped():
    h = started()
    result = h.turn(activity_done(1))
    assert [(d.reason, d.warn) for d in result.dropped] == [
        ("a completion of event 1, which this execution never scheduled", True)
    ]


def test_completion_of_the_wrong_kind_is_dropped_instead_of_applied():
    h = started()
    result = h.turn(child_done(2, "not an activity result"))
    assert result.new_events == [] and result.outcome == Continue()
    assert [(d.reason, d.warn) for d in result.dropped] == [
        ("a SubOrchestrationCompleted for event 2, which is ActivityScheduled", True)
    ]
    assert h.turn(activity_done(2, "a")).new_events[0].kind == "ActivityCompleted"


def test_duplicate_completion_in_a_later_turn_is_dropped_and_never_applied_twice():
    h = started()
    h.turn(activity_done(2, "first"))
    again = h.turn(activity_done(2, "second"))
    assert again.new_events == []
    assert [(d.reason, d.warn) for d in again.dropped] == [("a second completion of event 2", True)]
    assert h.turn(go()).outcome == Completed(["first", "go"])


def test_duplicate_completion_in_the_same_turn_is_applied_once():
    h = started()
    result = h.turn(activity_done(2, "first"), activity_error(2, "ValueError", "second"))
    assert [e.kind for e in result.new_events] == ["ActivityCompleted", "EventSubscribed"]
    assert [d.reason for d in result.dropped] == ["a second completion of event 2"]


def test_duplicate_start_message_is_dropped():
    h = started()
    result = h.turn(start_message())
    assert result.new_events == []
    assert [(d.reason, d.warn) for d in result.dropped] == [("a duplicate start message", True)]


def test_start_for_another_execution_is_dropped():
    h = Harness(two_steps)
    result = h.turn(start_message(execution_id=2))
    assert result.new_events == [] and result.dropped[0].reason == "a duplicate start message"


def test_message_that_is_not_a_completion_is_dropped():
    h = started()
    for body in (ActivityScheduled("Sneaky"), OrchestrationCompleted("forged")):
        result = h.turn(Message(INSTANCE_ID, body))
        assert result.new_events == [] and result.outcome == Continue()
        assert result.dropped[0].reason == "a completion of event None, which this execution never scheduled"


def test_timer_fired_for_an_activity_is_dropped():
    h = started()
    result = h.turn(Message(INSTANCE_ID, TimerFired(2, 5), 1))
    assert result.dropped[0].reason == "a TimerFired for event 2, which is ActivityScheduled"


def test_completion_without_an_execution_id_is_for_the_current_execution():
    h = started()
    assert h.turn(activity_done(2, "a", execution_id=None)).new_events[0].kind == "ActivityCompleted"


def test_dropped_message_leaves_the_state_as_it_was():
    h = started()
    h.turn(activity_done(99), activity_done(2, "x", execution_id=3))
    assert h.turn(activity_done(2, "a"), go()).outcome == Completed(["a", "go"])


def test_completions_of_a_timer_that_lost_are_dropped_quietly():
    def race(ctx):
        yield ctx.race(ctx.wait_for_event("Go"), ctx.schedule_timer(100))
        yield ctx.wait_for_event("Again")

    h = Harness(race)
    h.start()
    h.turn(go())
    late = h.turn(timer_fired(h.event(3)))
    assert [(d.reason, d.warn) for d in late.dropped] == [("the result of event 3, which is no longer awaited", False)]
