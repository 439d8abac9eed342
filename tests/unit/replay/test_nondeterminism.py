"""Replaying changed code: every kind of mismatch fails with a NondeterminismError that names the
recorded event, what the code did instead and the line of the ``yield``."""

from __future__ import annotations

import pytest

from duroxide_cli.errors import NondeterminismError
from duroxide_cli.replay.actions import CancelActivity, Failed

from .builders import HistoryBuilder, activity_done, raised
from .harness import line_of, replay


def diverged(fn, events, **kwargs) -> NondeterminismError:
    """Replay ``events`` against ``fn``; it must fail with a NondeterminismError, which is returned."""
    replayer, result = replay(fn, events, **kwargs)
    assert isinstance(result.outcome, Failed), f"expected a divergence, got {result.outcome}"
    error = replayer.divergence
    assert isinstance(error, NondeterminismError)
    assert result.outcome.failure.error_type == "NondeterminismError"
    assert result.outcome.failure.message == str(error)
    assert "\n" not in str(error), "the message is one line"
    assert result.new_events[-1].kind == "OrchestrationFailed"
    return error


def one_activity_history(name="Charge", input=1):
    h = HistoryBuilder()
    h.started()
    h.activity_scheduled(name, input)
    return h


def test_renamed_activity_is_reported_with_both_names_and_the_line():
    def renamed(ctx):
        yield ctx.schedule_activity("Bill", 1)  # <- diverges

    error = diverged(renamed, one_activity_history().events)
    assert error.recorded == "ActivityScheduled 'Charge' with input 1 (event 2)"
    assert error.action == "scheduled activity 'Bill' with input 1"
    assert error.location == line_of(renamed, "# <- diverges")
    assert str(error) == (
        f"nondeterminism at {error.location}: history recorded ActivityScheduled 'Charge' with input 1 (event 2), "
        "but the code scheduled activity 'Bill' with input 1 (the code changed since the history was recorded)"
    )


def test_changed_activity_input_is_a_mismatch():
    def changed_input(ctx):
        yield ctx.schedule_activity("Charge", 2)  # <- diverges

    error = diverged(changed_input, one_activity_history().events)
    assert "with input 1 (event 2)" in error.recorded
    assert error.action == "scheduled activity 'Charge' with input 2"
    assert error.location == line_of(changed_input, "# <- diverges")


def test_timer_where_an_activity_was_recorded_is_a_mismatch():
    def timer_instead(ctx):
        yield ctx.schedule_timer(5000)  # <- diverges

    error = diverged(timer_instead, one_activity_history().events)
    assert error.recorded.startswith("ActivityScheduled 'Charge'")
    assert error.action == "created a timer of 5000 ms"
    assert error.location == line_of(timer_instead, "# <- diverges")


def test_activity_where_a_timer_was_recorded_is_a_mismatch():
    h = HistoryBuilder()
    h.started()
    h.timer_created(6000)

    def activity_instead(ctx):
        yield ctx.schedule_activity("Charge")  # <- diverges

    error = diverged(activity_instead, h.events)
    assert error.recorded == "TimerCreated (event 2)"
    assert error.action == "scheduled activity 'Charge' with input null"


def test_timer_with_another_delay_still_matches():
    h = HistoryBuilder()
    h.started()
    h.timer_created(6000)

    def longer(ctx):
        yield ctx.schedule_timer(99_000)

    replayer, result = replay(longer, h.events)
    assert replayer.divergence is None and result.new_events == []


def test_waiting_for_another_event_name_is_a_mismatch():
    h = HistoryBuilder()
    h.started()
    h.event_subscribed("Approved")

    def other_event(ctx):
        yield ctx.wait_for_event("Rejected")  # <- diverges

    error = diverged(other_event, h.events)
    assert error.recorded == "EventSubscribed 'Approved' (event 2)"
    assert error.action == "waited for event 'Rejected'"
    assert error.location == line_of(other_event, "# <- diverges")


def sub_history():
    h = HistoryBuilder()
    h.started()
    h.sub_orchestration_scheduled("Payment", "inst-1::1::2", {"amount": 5})
    return h


def test_renamed_sub_orchestration_is_a_mismatch():
    def renamed(ctx):
        yield ctx.schedule_sub_orchestration("Billing", {"amount": 5})  # <- diverges

    error = diverged(renamed, sub_history().events)
    assert error.recorded == "SubOrchestrationScheduled 'Payment' (event 2)"
    assert error.action == """scheduled sub-orchestration 'Billing' with input {"amount":5}"""
    assert error.location == line_of(renamed, "# <- diverges")


def test_changed_sub_orchestration_input_is_a_mismatch():
    def changed(ctx):
        yield ctx.schedule_sub_orchestration("Payment", {"amount": 6})

    error = diverged(changed, sub_history().events)
    assert error.action == """scheduled sub-orchestration 'Payment' with input {"amount":6}"""


def chained_history():
    h = HistoryBuilder()
    h.started()
    h.orchestration_chained("Audit", "audit-1", {"order": 1})
    return h


@pytest.mark.parametrize(
    ("name", "instance_id", "input"),
    [("Report", "audit-1", {"order": 1}), ("Audit", "audit-2", {"order": 1}), ("Audit", "audit-1", {"order": 2})],
    ids=["name", "instance id", "input"],
)
def test_changed_fire_and_forget_start_is_a_mismatch(name, instance_id, input):
    def changed(ctx):
        yield ctx.start_orchestration(name, instance_id, input)  # <- diverges

    error = diverged(changed, chained_history().events)
    assert error.recorded == "OrchestrationChained 'Audit' (event 2)"
    assert error.action == f"started orchestration '{name}' as '{instance_id}'"
    assert error.location == line_of(changed, "# <- diverges")


def test_other_system_call_is_a_mismatch():
    h = HistoryBuilder()
    h.started()
    h.system_call("utc_now", 1234)

    def guid_instead(ctx):
        yield ctx.new_guid()  # <- diverges

    error = diverged(guid_instead, h.events)
    assert error.recorded == "SystemCall 'utc_now' (event 2)"
    assert error.action == "called ctx.new_guid()"
    assert error.location == line_of(guid_instead, "# <- diverges")


def test_code_that_schedules_more_than_was_recorded_is_a_mismatch():
    h = HistoryBuilder()
    h.started()
    charge = h.activity_scheduled("Charge")
    h.activity_completed(charge, "ok")
    h.orchestration_completed("ok")

    def more(ctx):
        yield ctx.schedule_activity("Charge")
        yield ctx.schedule_activity("Ship")  # <- diverges
        return "ok"

    error = diverged(more, h.events)
    assert error.recorded == "no further scheduling event"
    assert error.action == "scheduled activity 'Ship' with input null"
    assert error.hint == "the code schedules more than it did before"
    assert error.location == line_of(more, "# <- diverges")


def test_code_that_no_longer_schedules_a_recorded_event_is_a_mismatch():
    h = HistoryBuilder()
    h.started()
    charge = h.activity_scheduled("Charge")
    h.activity_completed(charge, "ok")
    h.activity_scheduled("Ship")

    def less(ctx):
        paid = yield ctx.schedule_activity("Charge")  # <- last yield
        return paid

    error = diverged(less, h.events)
    assert error.recorded == "ActivityScheduled 'Ship' with input null (event 4)"
    assert error.action == "did not schedule it (it ended with Completed)"
    assert error.location == line_of(less, "# <- last yield")


def test_code_that_no_longer_schedules_while_waiting_is_a_mismatch():
    h = HistoryBuilder()
    h.started()
    h.activity_scheduled("A")
    h.activity_scheduled("B")

    def only_a(ctx):
        yield ctx.schedule_activity("A")  # <- waiting here

    error = diverged(only_a, h.events)
    assert error.recorded == "ActivityScheduled 'B' with input null (event 3)"
    assert error.action == "did not schedule it (waiting for an earlier task)"
    assert error.location == line_of(only_a, "# <- waiting here")


def test_recorded_completion_the_code_no_longer_waits_for_is_a_mismatch():
    h = HistoryBuilder()
    h.started()
    a = h.activity_scheduled("A")
    b = h.activity_scheduled("B")
    h.activity_completed(a, 1)
    h.activity_completed(b, 2)
    h.orchestration_completed([1, 2])

    def race_instead_of_all(ctx):
        index, value = yield ctx.race(ctx.schedule_activity("A"), ctx.schedule_activity("B"))  # <- race
        return [value]

    error = diverged(race_instead_of_all, h.events)
    assert error.recorded == "ActivityCompleted (event 5) of ActivityScheduled 'B' with input null (event 3)"
    assert error.action == "does not wait for it (it ended with Completed)"
    assert error.location == line_of(race_instead_of_all, "# <- race")


def test_recorded_ending_where_the_code_still_waits_is_a_mismatch():
    h = HistoryBuilder()
    h.started()
    h.event_subscribed("Go")
    h.orchestration_completed(None)

    def waits(ctx):
        yield ctx.wait_for_event("Go")  # <- waits

    error = diverged(waits, h.events)
    assert error.recorded == "OrchestrationCompleted (event 3)"
    assert error.action == "is still waiting (waiting for an earlier task)"
    assert error.location == line_of(waits, "# <- waits")


def test_recorded_ending_of_another_kind_is_a_mismatch():
    h = HistoryBuilder()
    h.started()
    h.continued_as_new({"n": 1})

    def completes(ctx):
        return "done"
        yield  # pragma: no cover

    error = diverged(completes, h.events)
    assert error.recorded == "ContinuedAsNew (event 2)"
    assert error.action == "ended with Completed"


def test_divergence_cancels_the_work_the_code_still_waited_for():
    h = HistoryBuilder()
    h.started()
    h.activity_scheduled("A")
    h.activity_scheduled("B")

    def only_a(ctx):
        yield ctx.schedule_activity("A")

    replayer, result = replay(only_a, h.events)
    assert isinstance(result.outcome, Failed)
    assert result.actions == [CancelActivity(2)]


def test_divergence_ends_the_execution_so_later_messages_are_dropped():
    def renamed(ctx):
        yield ctx.schedule_activity("Bill", 1)

    replayer, result = replay(renamed, one_activity_history().events, messages=[activity_done(2, "x")])
    assert isinstance(result.outcome, Failed)
    assert [d.reason for d in result.dropped] == ["the execution has already ended (Failed)"]


def test_events_of_the_diverging_turn_are_recorded_before_the_failure():
    def renamed(ctx):
        yield ctx.schedule_activity("Bill", 1)

    messages = [raised("Go", 1), activity_done(2, "x"), raised("Go", 2)]
    _, result = replay(renamed, one_activity_history().events, messages=messages)
    assert [e.kind for e in result.new_events] == ["EventRaised", "EventRaised", "OrchestrationFailed"]
    assert [e.body.data for e in result.new_events[:2]] == [1, 2], "a reset delivers them again"


def test_code_that_fails_during_replay_reports_its_own_error():
    h = HistoryBuilder()
    h.started()
    h.activity_scheduled("A")

    def fails(ctx):
        raise RuntimeError("config missing")
        yield  # pragma: no cover

    replayer, result = replay(fails, h.events, now_ms=50_000)
    assert replayer.divergence is None
    assert isinstance(result.outcome, Failed) and result.outcome.failure.error_type == "RuntimeError"
    assert [(e.event_id, e.kind, e.timestamp_ms) for e in result.new_events] == [(3, "OrchestrationFailed", 50_000)]
    assert result.new_events[0].body.failure == result.outcome.failure


def test_code_that_now_raises_after_a_replayed_completion_records_the_failure():
    h = HistoryBuilder()
    h.started()
    a = h.activity_scheduled("A")
    h.activity_completed(a, {"total": 5})
    h.event_subscribed("Go")

    def reads_a_missing_key(ctx):
        result = yield ctx.schedule_activity("A")
        return result["amount"]

    replayer, result = replay(reads_a_missing_key, h.events)
    assert replayer.divergence is None
    assert isinstance(result.outcome, Failed) and result.outcome.failure.error_type == "KeyError"
    assert [e.kind for e in result.new_events] == ["OrchestrationFailed"], "the failure is in the history"


def test_code_that_now_ends_where_the_history_still_runs_is_a_mismatch():
    h = HistoryBuilder()
    h.started()
    a = h.activity_scheduled("A")
    h.activity_scheduled("B")
    h.activity_completed(a, 1)  # the recorded code went on waiting for B

    def race_instead_of_all(ctx):
        index, value = yield ctx.race(ctx.schedule_activity("A"), ctx.schedule_activity("B"))  # <- race
        return value

    error = diverged(race_instead_of_all, h.events)
    assert error.recorded == "no ending after ActivityCompleted (event 4)"
    assert error.action == "ended with Completed"
    assert error.location == line_of(race_instead_of_all, "# <- race")


def test_the_observer_sees_the_divergence_while_the_code_is_still_suspended():
    from duroxide_cli.replay import Replayer

    def changed(ctx):
        order_total = 42
        yield ctx.schedule_activity("Refund", order_total)

    h = HistoryBuilder()
    h.started()
    h.activity_scheduled("Charge", 42)
    seen = []

    def observe(replayer, step, event, description):
        if step == "diverged":
            frame = replayer.frame()
            seen.append((event.event_id, frame.f_locals.get("order_total"), "Charge" in description))

    Replayer(changed, "i", 1, observer=observe).run_turn(h.events, [], 0, lambda: "")
    assert seen == [(1, 42, True)]
