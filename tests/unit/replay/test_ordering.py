"""The code sees completions in history order: all(), race() and several completions per turn."""

from __future__ import annotations

import pytest

from duroxide_cli.errors import ActivityError
from duroxide_cli.model.tasks import RaceResult
from duroxide_cli.replay.actions import (
    CancelActivity,
    CancelSubOrchestration,
    Completed,
    Continue,
    Failed,
    ScheduleActivity,
    StartTimer,
)

from .builders import HistoryBuilder, activity_done, activity_error, child_done, raised, timer_fired
from .harness import Harness, replay


def test_two_completions_in_one_turn_are_both_applied_before_the_turn_ends():
    def sequential(ctx):
        paid = yield ctx.schedule_activity("Charge")
        approval = yield ctx.wait_for_event("Approved")
        return [paid, approval]

    h = Harness(sequential)
    h.start()
    result = h.turn(raised("Approved", "yes"), activity_done(2, "paid"))
    assert result.outcome == Completed(["paid", "yes"])
    assert [e.kind for e in result.new_events] == [
        "EventRaised",
        "ActivityCompleted",
        "EventSubscribed",
        "OrchestrationCompleted",
    ]


def test_completions_of_a_fan_out_are_recorded_in_arrival_order():
    def fan_out(ctx):
        results = yield ctx.all([ctx.schedule_activity("Pick", n) for n in range(3)])
        return results

    h = Harness(fan_out)
    first = h.start()
    assert first.actions == [
        ScheduleActivity(2, "Pick", 0, 1),
        ScheduleActivity(3, "Pick", 1, 1),
        ScheduleActivity(4, "Pick", 2, 1),
    ]
    assert h.turn(activity_done(4, "c")).outcome == Continue()
    result = h.turn(activity_done(3, "b"), activity_done(2, "a"))
    assert result.outcome == Completed(["a", "b", "c"])
    assert [e.source_event_id for e in h.history if e.kind == "ActivityCompleted"] == [4, 3, 2]


def test_all_waits_for_every_task_even_after_a_failure():
    def fan_out(ctx):
        results = yield ctx.all([ctx.schedule_activity("A"), ctx.schedule_activity("B")])
        return results

    h = Harness(fan_out)
    h.start()
    assert h.turn(activity_error(2, "ValueError", "a broke")).outcome == Continue()
    result = h.turn(activity_done(3, "b"))
    assert isinstance(result.outcome, Failed)
    assert result.outcome.failure.message == "activity 'A' failed: ValueError: a broke"


def test_all_raises_the_first_failure_in_list_order_not_in_time_order():
    caught = []

    def fan_out(ctx):
        try:
            yield ctx.all([ctx.schedule_activity("A"), ctx.schedule_activity("B"), ctx.schedule_activity("C")])
        except ActivityError as error:
            caught.append(error.activity_name)
            return error.activity_name

    h = Harness(fan_out)
    h.start()
    h.turn(activity_error(4, "ValueError", "c broke"))
    h.turn(activity_done(2, "a"))
    result = h.turn(activity_error(3, "ValueError", "b broke"))
    assert result.outcome == Completed("B")


def test_all_with_return_exceptions_puts_the_errors_in_their_places():
    seen = []

    def fan_out(ctx):
        results = yield ctx.all([ctx.schedule_activity("A"), ctx.schedule_activity("B")], return_exceptions=True)
        seen.append(results)
        return [r if not isinstance(r, Exception) else r.error_type for r in results]

    h = Harness(fan_out)
    h.start()
    result = h.turn(activity_done(2, "a"), activity_error(3, "KeyError", "missing"))
    assert result.outcome == Completed(["a", "KeyError"])
    assert isinstance(seen[-1][1], ActivityError) and seen[-1][1].activity_name == "B"


def test_all_of_nothing_gives_an_empty_list_at_once():
    def empty(ctx):
        results = yield ctx.all([])
        return results

    assert Harness(empty).start().outcome == Completed([])


def test_all_mixes_every_kind_of_task():
    def mixed(ctx):
        results = yield ctx.all(
            [
                ctx.schedule_activity("A"),
                ctx.schedule_timer(500),
                ctx.wait_for_event("Go"),
                ctx.schedule_sub_orchestration("Child"),
                ctx.utc_now(),
            ]
        )
        return results

    h = Harness(mixed)
    first = h.start()
    assert h.kinds[1:] == [
        "ActivityScheduled",
        "TimerCreated",
        "EventSubscribed",
        "SubOrchestrationScheduled",
        "SystemCall",
    ]
    assert StartTimer(3, 1500) in first.actions
    h.turn(activity_done(2, "a"), raised("Go", {"ok": True}))
    result = h.turn(timer_fired(h.event(3)), child_done(5, "child"))
    assert result.outcome == Completed(["a", None, {"ok": True}, "child", 1000])


def test_race_gives_the_index_and_value_of_the_winner():
    def race(ctx):
        winner = yield ctx.race(ctx.schedule_activity("Slow"), ctx.schedule_activity("Fast"))
        assert isinstance(winner, RaceResult)
        index, value = winner
        return {"index": index, "value": value}

    h = Harness(race)
    h.start()
    result = h.turn(activity_done(3, "fast"))
    assert result.outcome == Completed({"index": 1, "value": "fast"})


def test_race_winner_is_the_earlier_completion_in_history_order():
    def race(ctx):
        index, value = yield ctx.race(ctx.schedule_activity("A"), ctx.schedule_activity("B"))
        return [index, value]

    h = Harness(race)
    h.start()
    result = h.turn(activity_done(3, "b"), activity_done(2, "a"))
    assert result.outcome == Completed([1, "b"])
    assert [e.source_event_id for e in h.history if e.kind == "ActivityCompleted"] == [3]
    assert [(d.reason, d.warn) for d in result.dropped] == [("the execution has already ended (Completed)", False)]


def test_race_winner_on_replay_is_the_one_the_history_holds_first():
    h = HistoryBuilder()
    h.started()
    a = h.activity_scheduled("A")
    b = h.activity_scheduled("B")
    h.activity_completed(b, "b")
    h.orchestration_completed([1, "b"])

    def race(ctx):
        index, value = yield ctx.race(ctx.schedule_activity("A"), ctx.schedule_activity("B"))
        return [index, value]

    replayer, result = replay(race, h.events, messages=[activity_done(a, "a")])
    assert replayer.divergence is None
    assert result.outcome == Completed([1, "b"])
    assert [(d.reason, d.warn) for d in result.dropped] == [("the execution has already ended (Completed)", False)]


def test_race_against_a_timer_lets_the_timer_win():
    def deadline(ctx):
        index, value = yield ctx.race(ctx.schedule_activity("Approve"), ctx.schedule_timer(30_000))
        return "timed out" if index == 1 else value

    h = Harness(deadline)
    first = h.start()
    assert first.actions == [ScheduleActivity(2, "Approve", None, 1), StartTimer(3, 31_000)]
    result = h.turn(timer_fired(h.event(3)), now_ms=31_000)
    assert result.outcome == Completed("timed out")
    assert CancelActivity(2) in result.actions


def test_race_loser_activity_is_cancelled_and_its_late_completion_dropped_quietly():
    def race(ctx):
        index, _ = yield ctx.race(ctx.schedule_activity("A"), ctx.schedule_timer(10))
        yield ctx.wait_for_event("Done")
        return index

    h = Harness(race)
    h.start()
    second = h.turn(timer_fired(h.event(3)))
    assert second.actions == [CancelActivity(2)]
    late = h.turn(activity_done(2, "too late"))
    assert late.new_events == [] and late.actions == []
    assert len(late.dropped) == 1
    dropped = late.dropped[0]
    assert dropped.warn is False
    assert dropped.reason == "the result of event 2, which is no longer awaited"
    assert h.turn(raised("Done")).outcome == Completed(1)


def test_race_whose_winner_failed_raises_the_winners_error():
    def race(ctx):
        yield ctx.race(ctx.schedule_activity("A"), ctx.schedule_timer(10))

    h = Harness(race)
    h.start()
    result = h.turn(activity_error(2, "ValueError", "nope"))
    assert isinstance(result.outcome, Failed)
    assert result.outcome.failure.message == "activity 'A' failed: ValueError: nope"


def test_race_takes_the_tasks_as_one_list():
    def race(ctx):
        index, _ = yield ctx.race([ctx.schedule_timer(10), ctx.schedule_timer(20)])
        return index

    h = Harness(race)
    h.start()
    assert h.turn(timer_fired(h.event(2))).outcome == Completed(0)


def test_race_with_an_already_raised_event_is_decided_at_once():
    def race(ctx):
        yield ctx.schedule_timer(1)
        index, value = yield ctx.race(ctx.wait_for_event("Go"), ctx.schedule_activity("A"))
        return [index, value]

    h = Harness(race)
    h.start()
    result = h.turn(raised("Go", 7), timer_fired(h.event(2)))
    assert result.outcome == Completed([0, 7])
    # the loser was scheduled and cancelled in the same turn
    assert result.actions == [ScheduleActivity(6, "A", None, 1), CancelActivity(6)]


@pytest.mark.parametrize("tasks", [0, 1])
def test_race_needs_two_tasks(tasks):
    def race(ctx):
        yield ctx.race(*[ctx.schedule_timer(1) for _ in range(tasks)])

    result = Harness(race).start()
    assert isinstance(result.outcome, Failed)
    assert result.outcome.failure.message == f"ctx.race needs two or more tasks, got {tasks}"


def test_retry_task_may_sit_inside_all_and_race():
    def wf(ctx):
        index, value = yield ctx.race(
            ctx.schedule_activity_with_retry("A", None, {"max_attempts": 2, "initial_delay_ms": 10}),
            ctx.schedule_timer(60_000),
        )
        both = yield ctx.all(
            [ctx.schedule_activity_with_retry("B", None, {"max_attempts": 1}), ctx.schedule_activity("C")]
        )
        return [index, value, both]

    h = Harness(wf)
    h.start()
    h.turn(activity_error(2))
    h.turn(timer_fired(h.timers()[1]))
    result = h.turn(activity_done(h.activity("A", 1), "a2"))
    assert CancelActivity(2) not in result.actions
    b, c = h.activity("B"), h.activity("C")
    assert h.turn(activity_done(b, "b"), activity_done(c, "c")).outcome == Completed([0, "a2", ["b", "c"]])


def test_race_loser_sub_orchestration_is_cancelled():
    def race(ctx):
        index, _ = yield ctx.race(
            ctx.schedule_sub_orchestration("Quote", "a"), ctx.schedule_sub_orchestration("Quote", "b")
        )
        return index

    h = Harness(race, instance_id="buy")
    h.start()
    result = h.turn(child_done(3, "b is cheaper"))
    assert result.outcome == Completed(1)
    assert result.actions == [CancelSubOrchestration("buy::1::2", "the parent no longer waits for it")]
    late = h.turn(child_done(2, "a"))
    assert late.dropped[0].warn is False


def test_race_loser_retry_cancels_its_running_attempt_and_forgets_its_timers():
    def race(ctx):
        index, _ = yield ctx.race(
            ctx.schedule_activity_with_retry("Flaky", None, {"timeout_ms": 5_000, "initial_delay_ms": 100}),
            ctx.wait_for_event("Stop"),
        )
        yield ctx.wait_for_event("Finish")
        return index

    h = Harness(race)
    h.start()
    h.turn(activity_error(2))  # attempt 1 failed: its timeout timer is dropped, a back-off timer starts
    h.turn(timer_fired(h.timers()[-1]))  # attempt 2 starts with its own timeout timer
    result = h.turn(raised("Stop"))
    assert result.actions == [CancelActivity(h.activity("Flaky", 1).event_id)]
    late = h.turn(timer_fired(h.timers()[-1]), activity_done(h.activity("Flaky", 1)))
    assert late.new_events == [] and [d.warn for d in late.dropped] == [False, False]
    assert h.turn(raised("Finish")).outcome == Completed(1)
