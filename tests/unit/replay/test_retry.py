"""schedule_activity_with_retry: attempts, durable back-off timers, timeouts."""

from __future__ import annotations

import pytest

from duroxide_cli.errors import ActivityError
from duroxide_cli.model.options import RetryPolicy
from duroxide_cli.replay.actions import CancelActivity, Completed, Continue, Failed, ScheduleActivity, StartTimer

from .builders import activity_done, activity_error, timer_fired
from .harness import Harness


def with_retry(policy):
    def wf(ctx, input):
        try:
            value = yield ctx.schedule_activity_with_retry("Flaky", input, policy)
        except ActivityError as error:
            return {"error": error.error_type, "message": error.message}
        return {"value": value}

    return wf


def fail_every_attempt(h: Harness, error_type: str = "ValueError", step_ms: int = 100):
    """Fail each attempt ``step_ms`` after it starts and fire each back-off timer when due.

    Returns the delays between a failure and the next attempt, as the timers recorded them.
    """
    delays = []
    while isinstance(h.outcome, Continue):
        attempt = h.scheduled("ActivityScheduled")[-1]
        failed_at = h.now_ms + step_ms
        result = h.turn(activity_error(attempt, error_type, f"attempt {attempt.body.attempt} failed"), now_ms=failed_at)
        timers = [a for a in result.actions if isinstance(a, StartTimer)]
        if timers:
            delays.append(timers[0].fire_at_ms - failed_at)
            h.turn(timer_fired(h.event(timers[0].event_id)), now_ms=timers[0].fire_at_ms)
    return delays


@pytest.mark.parametrize(
    ("backoff", "delays"),
    [
        ("fixed", [1000, 1000, 1000]),
        ("linear", [1000, 2000, 3000]),
        ("exponential", [1000, 2000, 4000]),
    ],
)
def test_back_off_delays_are_durable_timers(backoff, delays):
    h = Harness(with_retry(RetryPolicy(max_attempts=4, backoff=backoff, initial_delay_ms=1000)))
    h.start("x")
    assert fail_every_attempt(h) == delays
    assert h.outcome == Completed({"error": "ValueError", "message": "attempt 4 failed"})


def test_back_off_delays_never_exceed_max_delay():
    h = Harness(with_retry(RetryPolicy(max_attempts=5, initial_delay_ms=1000, max_delay_ms=2500)))
    h.start("x")
    assert fail_every_attempt(h) == [1000, 2000, 2500, 2500]


def test_each_attempt_is_recorded_with_its_attempt_number():
    h = Harness(with_retry({"max_attempts": 3, "initial_delay_ms": 10}))
    first = h.start({"order": 1})
    assert first.actions == [ScheduleActivity(2, "Flaky", {"order": 1}, 1)]
    fail_every_attempt(h)
    attempts = [(e.body.name, e.body.input, e.body.attempt) for e in h.scheduled("ActivityScheduled")]
    assert attempts == [("Flaky", {"order": 1}, 1), ("Flaky", {"order": 1}, 2), ("Flaky", {"order": 1}, 3)]


def test_success_on_a_later_attempt_gives_its_value():
    h = Harness(with_retry(RetryPolicy(initial_delay_ms=10)))
    h.start("x")
    h.turn(activity_error(2))
    h.turn(timer_fired(h.event(4)))
    assert h.turn(activity_done(h.activity("Flaky", 1), "second time lucky")).outcome == Completed(
        {"value": "second time lucky"}
    )


def test_first_attempt_that_succeeds_needs_no_timer():
    h = Harness(with_retry(RetryPolicy()))
    h.start("x")
    assert h.turn(activity_done(2, "ok")).outcome == Completed({"value": "ok"})
    assert h.timers() == []


def test_non_retryable_error_fails_at_once():
    h = Harness(with_retry(RetryPolicy(max_attempts=5, non_retryable=["CardDeclined"])))
    h.start("x")
    result = h.turn(activity_error(2, "CardDeclined", "no funds"))
    assert result.outcome == Completed({"error": "CardDeclined", "message": "no funds"})
    assert result.actions == [] and h.timers() == []


def test_attempt_timeout_is_a_timer_that_wins_and_cancels_the_attempt():
    h = Harness(with_retry(RetryPolicy(max_attempts=2, initial_delay_ms=100, timeout_ms=500)))
    first = h.start("x")
    assert first.actions == [ScheduleActivity(2, "Flaky", "x", 1), StartTimer(3, 1500)]
    timed_out = h.turn(timer_fired(h.event(3)), now_ms=1500)
    assert timed_out.actions == [CancelActivity(2), StartTimer(5, 1600)]
    h.turn(timer_fired(h.event(5)), now_ms=1600)
    assert h.activity("Flaky", 1).body.attempt == 2
    second_timeout = h.timers()[-1]
    assert second_timeout.body.fire_at_ms == 2100
    result = h.turn(timer_fired(second_timeout), now_ms=2100)
    assert result.outcome == Completed({"error": "TimeoutError", "message": "attempt 2 timed out after 500 ms"})


def test_late_completion_of_a_timed_out_attempt_is_dropped_quietly():
    h = Harness(with_retry(RetryPolicy(max_attempts=2, initial_delay_ms=100, timeout_ms=500)))
    h.start("x")
    h.turn(timer_fired(h.event(3)), now_ms=1500)
    late = h.turn(activity_done(2, "too late"), now_ms=1550)
    assert late.new_events == []
    assert [(d.reason, d.warn) for d in late.dropped] == [("the result of event 2, which is no longer awaited", False)]


def test_attempt_that_finishes_in_time_drops_its_timeout_timer():
    h = Harness(with_retry(RetryPolicy(timeout_ms=500)))
    h.start("x")
    assert h.turn(activity_done(2, "quick"), now_ms=1200).outcome == Completed({"value": "quick"})
    late = h.turn(timer_fired(h.event(3)), now_ms=1500)
    assert late.dropped[0].warn is False


def test_total_timeout_stops_retrying_when_the_next_delay_would_pass_it():
    h = Harness(with_retry(RetryPolicy(max_attempts=10, initial_delay_ms=1000, total_timeout_ms=5000)))
    h.start("x", now_ms=1000)
    # every attempt is bounded by what is left of the total: first attempt until 6000
    assert h.timers()[0].body.fire_at_ms == 6000
    delays = fail_every_attempt(h)
    # fails at 1100 (retry at 2100), at 2200 (retry at 4200), at 4300: 4300 + 4000 passes 6000
    assert delays == [1000, 2000]
    assert h.outcome == Completed({"error": "ValueError", "message": "attempt 3 failed"})
    assert [t.body.fire_at_ms for t in h.timers()] == [6000, 2100, 6000, 4200, 6000]


def test_total_timeout_ends_an_attempt_that_runs_too_long():
    h = Harness(with_retry(RetryPolicy(max_attempts=3, total_timeout_ms=5000)))
    h.start("x", now_ms=1000)
    result = h.turn(timer_fired(h.event(3)), now_ms=6000)
    assert CancelActivity(2) in result.actions
    assert result.outcome == Completed(
        {"error": "TimeoutError", "message": "attempt 1 timed out after the total timeout of 5000 ms"}
    )


def test_retry_policy_given_as_a_dict_is_checked():
    wf = with_retry({"max_attempts": 0})
    result = Harness(wf).start("x")
    assert isinstance(result.outcome, Failed)
    assert result.outcome.failure.message == "invalid RetryPolicy: max_attempts must be an int >= 1, got 0"


def test_unhandled_exhausted_retry_fails_with_the_last_attempts_error():
    def wf(ctx):
        yield ctx.schedule_activity_with_retry("Flaky", None, RetryPolicy(max_attempts=2, initial_delay_ms=1))

    h = Harness(wf)
    h.start()
    fail_every_attempt(h)
    assert isinstance(h.outcome, Failed)
    assert h.outcome.failure.message == "activity 'Flaky' failed: ValueError: attempt 2 failed"
