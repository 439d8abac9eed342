"""A race between event waits, turn by turn: the earliest event wins on every path, and replay agrees."""

from __future__ import annotations

from duroxide_cli.history import EventRaised
from duroxide_cli.messages import Message
from duroxide_cli.replay.actions import Completed, Continue

from .builders import INSTANCE_ID, activity_done, raised, start_message
from .harness import Harness


def busy_then_race(ctx):
    yield ctx.schedule_activity("Busy")
    first = yield ctx.race(ctx.wait_for_event("a"), ctx.wait_for_event("b"))
    second = yield ctx.wait_for_event("a")
    third = yield ctx.wait_for_event("b")
    return [list(first), second, third]


def test_buffered_events_go_to_the_race_in_arrival_order_and_the_loser_keeps_nothing():
    h = Harness(busy_then_race)
    h.start()
    h.turn(raised("b", 1), raised("a", 2), raised("b", 3))
    result = h.turn(activity_done(2, None))
    assert result.outcome == Completed([[1, 1], 2, 3])


def test_events_arriving_after_the_race_began_pick_the_same_winner():
    h = Harness(busy_then_race)
    h.start()
    assert h.turn(activity_done(2, None)).outcome == Continue()
    result = h.turn(raised("b", 1), raised("a", 2), raised("b", 3))
    assert result.outcome == Completed([[1, 1], 2, 3])


def test_all_over_waits_takes_each_buffered_event_once():
    def both(ctx):
        yield ctx.schedule_activity("Busy")
        values = yield ctx.all([ctx.wait_for_event("x"), ctx.wait_for_event("x"), ctx.wait_for_event("y")])
        return values

    h = Harness(both)
    h.start()
    h.turn(raised("x", 1), raised("y", 2), raised("x", 3))
    assert h.turn(activity_done(2, None)).outcome == Completed([1, 3, 2])


def test_a_new_execution_takes_carried_events_before_events_raised_while_it_was_committed():
    def take_one(ctx, seen):
        value = yield ctx.wait_for_event("e")
        return seen + [value]

    h = Harness(take_one, execution_id=2)
    carried = Message(INSTANCE_ID, EventRaised("e", "e1"), 2)
    meanwhile = raised("e", "e2")
    result = h.turn(meanwhile, start_message("Test", [], execution_id=2), carried)
    assert result.outcome == Completed(["e1"])
