"""External events: always recorded, buffered until a wait takes them, delivered oldest first."""

from __future__ import annotations

from duroxide_cli.replay.actions import Completed, Continue

from .builders import HistoryBuilder, activity_done, raised, timer_fired
from .harness import Harness, replay


def approval(ctx):
    yield ctx.schedule_activity("Prepare")
    decision = yield ctx.wait_for_event("Approval")
    return decision


def test_event_raised_while_waiting_is_delivered():
    h = Harness(approval)
    h.start()
    h.turn(activity_done(2))
    result = h.turn(raised("Approval", {"by": "ann"}))
    assert result.outcome == Completed({"by": "ann"})
    assert h.kinds == [
        "OrchestrationStarted",
        "ActivityScheduled",
        "ActivityCompleted",
        "EventSubscribed",
        "EventRaised",
        "OrchestrationCompleted",
    ]


def test_event_raised_before_wait_is_delivered():
    h = Harness(approval)
    h.start()
    early = h.turn(raised("Approval", "early"))
    assert early.outcome == Continue()
    assert [e.kind for e in early.new_events] == ["EventRaised"], "the event is recorded even though nobody waits"
    assert h.turn(activity_done(2)).outcome == Completed("early")


def test_events_raised_before_the_wait_are_delivered_in_arrival_order():
    def three(ctx):
        yield ctx.schedule_activity("Prepare")
        values = []
        for _ in range(3):
            values.append((yield ctx.wait_for_event("Item")))
        return values

    h = Harness(three)
    h.start()
    h.turn(raised("Item", 1), raised("Other", "x"), raised("Item", 2))
    h.turn(raised("Item", 3))
    assert h.turn(activity_done(2)).outcome == Completed([1, 2, 3])


def test_events_of_other_names_do_not_satisfy_a_wait():
    h = Harness(approval)
    h.start()
    h.turn(activity_done(2))
    assert h.turn(raised("Rejection", "no")).outcome == Continue()
    assert h.turn(raised("Approval", "yes")).outcome == Completed("yes")


def test_two_waits_in_one_all_take_two_events_in_order():
    def both(ctx):
        values = yield ctx.all([ctx.wait_for_event("Vote"), ctx.wait_for_event("Vote")])
        return values

    h = Harness(both)
    h.start()
    assert h.turn(raised("Vote", "first"), raised("Vote", "second")).outcome == Completed(["first", "second"])


def test_race_losers_event_wait_does_not_swallow_a_later_event():
    def with_deadline(ctx):
        index, _ = yield ctx.race(ctx.wait_for_event("Approval"), ctx.schedule_timer(1000))
        yield ctx.schedule_activity("Escalate")
        decision = yield ctx.wait_for_event("Approval")
        return [index, decision]

    h = Harness(with_deadline)
    h.start()
    h.turn(timer_fired(h.event(3)))
    h.turn(raised("Approval", "late yes"))
    result = h.turn(activity_done(h.activity("Escalate")))
    assert result.outcome == Completed([1, "late yes"])


def test_race_losers_event_wait_leaves_an_event_of_the_same_turn_to_the_next_wait():
    def with_deadline(ctx):
        yield ctx.race(ctx.wait_for_event("Approval"), ctx.schedule_timer(1000))
        decision = yield ctx.wait_for_event("Approval")
        return decision

    h = Harness(with_deadline)
    h.start()
    assert h.turn(timer_fired(h.event(3)), raised("Approval", "same turn")).outcome == Completed("same turn")


def test_buffered_events_replay_to_the_same_waits():
    h = HistoryBuilder()
    h.started()
    prepare = h.activity_scheduled("Prepare")
    h.event_raised("Approval", "first")
    h.event_raised("Approval", "second")
    h.activity_completed(prepare)
    h.event_subscribed("Approval")
    h.orchestration_completed("first")

    replayer, result = replay(approval, h.events)
    assert replayer.divergence is None
    assert result.outcome == Completed("first")
    assert result.new_events == [] and result.actions == []


def test_event_raised_after_the_end_is_dropped_with_a_warning():
    h = Harness(approval)
    h.start()
    h.turn(activity_done(2))
    h.turn(raised("Approval", "yes"))
    result = h.turn(raised("Approval", "again"))
    assert result.new_events == []
    assert [(d.reason, d.warn) for d in result.dropped] == [("the execution has already ended (Completed)", True)]
