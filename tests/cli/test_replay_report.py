"""The replay report (duroxide_cli/replay/check.py): each recorded event paired with what the code did."""

from __future__ import annotations

import pytest

from duroxide_cli import Registry
from duroxide_cli.errors import ConfigError
from duroxide_cli.history import (
    ActivityCompleted,
    ActivityScheduled,
    EventRaised,
    EventSubscribed,
    FailureDetails,
    HistoryEvent,
    OrchestrationCompleted,
    OrchestrationFailed,
    OrchestrationStarted,
    TimerCreated,
    TimerFired,
)
from duroxide_cli.replay.check import check_history, orchestration_for


def history(*bodies) -> list[HistoryEvent]:
    return [HistoryEvent(i, 1_000 + i, body) for i, body in enumerate(bodies, 1)]


COMPLETED = history(
    OrchestrationStarted("Flow", "1.0.0", 7),
    ActivityScheduled("Charge", 7),
    ActivityCompleted(2, 14),
    TimerCreated(5_000),
    TimerFired(4, 5_000),
    OrchestrationCompleted(14),
)

WAITING = history(
    OrchestrationStarted("Flow", "1.0.0", 7),
    ActivityScheduled("Charge", 7),
    ActivityCompleted(2, 14),
    EventSubscribed("Approval"),
)


def flow(ctx, x):
    charged = yield ctx.schedule_activity("Charge", x)
    yield ctx.schedule_timer(10)
    return charged


def line_of(fn, text: str) -> str:
    import inspect

    source, first = inspect.getsourcelines(fn)
    for offset, line in enumerate(source):
        if text in line:
            return f"test_replay_report.py:{first + offset}"
    raise AssertionError(text)


def test_unchanged_code_matches_every_event():
    report = check_history(flow, COMPLETED, instance_id="i")
    assert report.consistent and report.divergence is None
    assert [s.status for s in report.steps] == ["applied", "matched", "applied", "matched", "applied", "applied"]
    assert report.steps[1].code == "scheduled activity 'Charge' with input 7"
    assert report.steps[2].code == "received the result of event 2"
    assert (report.recorded_outcome, report.replayed_outcome) == ("Completed", "Completed")


def test_a_changed_activity_is_reported_at_its_event_and_line():
    def changed(ctx, x):
        charged = yield ctx.schedule_activity("Charge", x)
        yield ctx.schedule_activity("Audit", charged)  # was a timer
        return charged

    report = check_history(changed, COMPLETED, instance_id="i")
    divergence = report.divergence
    assert divergence is not None and not report.consistent
    assert divergence.event_id == 4 and divergence.after_event_id == 3
    assert divergence.recorded == "TimerCreated (event 4)"
    assert divergence.action == "scheduled activity 'Audit' with input 14"
    assert divergence.location == line_of(changed, '"Audit"')
    assert [s.status for s in report.steps] == ["applied", "matched", "applied", "diverged", "not reached", "not reached"]
    assert report.frame is not None and report.frame_locals["charged"] == 14


def test_code_that_schedules_more_than_was_recorded_diverges_after_the_last_event():
    def more(ctx, x):
        charged = yield ctx.schedule_activity("Charge", x)
        yield ctx.wait_for_event("Approval")
        yield ctx.schedule_timer(1)
        return charged

    report = check_history(more, WAITING, instance_id="i")
    assert report.consistent  # still waiting at the same place

    raised = WAITING + [HistoryEvent(5, 1_005, EventRaised("Approval", True))]
    report = check_history(more, raised, instance_id="i")
    assert report.divergence is not None
    assert report.divergence.event_id is None and report.divergence.after_event_id == 5
    assert report.divergence.recorded == "no further scheduling event"
    assert report.divergence.location == line_of(more, "schedule_timer(1)")


def test_code_that_now_raises_is_a_divergence_at_the_line_that_raised():
    def raises(ctx, x):
        charged = yield ctx.schedule_activity("Charge", x)
        if charged > 10:
            raise RuntimeError("a new check")
        yield ctx.schedule_timer(10)

    report = check_history(raises, COMPLETED, instance_id="i")
    assert report.divergence is not None
    assert report.divergence.action == "raised RuntimeError: a new check"
    assert report.divergence.location == line_of(raises, "a new check")
    assert report.divergence.event_id == 4


def test_a_running_history_is_consistent_while_the_code_waits_at_the_same_place():
    def waits(ctx, x):
        yield ctx.schedule_activity("Charge", x)
        return (yield ctx.wait_for_event("Approval"))

    report = check_history(waits, WAITING, instance_id="i")
    assert report.consistent and report.recorded_outcome == report.replayed_outcome == "Running"


def test_code_that_finishes_early_diverges():
    def early(ctx, x):
        return (yield ctx.schedule_activity("Charge", x))

    report = check_history(early, WAITING, instance_id="i")
    assert report.divergence is not None and report.divergence.event_id == 4


def test_to_json_carries_the_divergence_and_the_steps():
    def changed(ctx, x):
        yield ctx.schedule_activity("Refund", x)

    document = check_history(changed, COMPLETED, instance_id="i").to_json()
    assert document["consistent"] is False
    assert document["divergence"]["event_id"] == 2 and document["divergence"]["recorded"].startswith("ActivityScheduled 'Charge'")
    assert [s["status"] for s in document["steps"]][:2] == ["applied", "diverged"]


def test_the_orchestration_is_found_by_the_recorded_name_and_version():
    app = Registry()
    app.orchestration("Flow")(flow)
    assert orchestration_for(app, COMPLETED)[:2] == ("Flow", "1.0.0")
    other = Registry()
    with pytest.raises(ConfigError, match="'Flow' is not registered"):
        orchestration_for(other, COMPLETED)
    v2 = Registry()
    v2.orchestration("Flow", version="2.0.0")(flow)
    with pytest.raises(ConfigError, match="version 1.0.0 is not registered"):
        orchestration_for(v2, COMPLETED)
    with pytest.raises(ValueError, match="does not start with an OrchestrationStarted"):
        check_history(flow, COMPLETED[1:])


def cleans_up(ctx, x):
    try:
        yield ctx.schedule_activity("Charge", x)
        yield ctx.wait_for_event("Approval")
    finally:
        yield ctx.schedule_activity("Refund", x)  # a compensation that yields: wrong, but user code


def test_a_consistent_replay_closes_the_code_at_once_so_its_finally_block_prints_nothing(monkeypatch):
    """A running instance whose ``finally`` yields, replayed by ``run``'s start-up check or
    ``replay --running``, is closed against a context that does nothing; left to the collector,
    Python would print 'Exception ignored ... generator ignored GeneratorExit' on stderr."""
    import gc

    unraisable = []
    monkeypatch.setattr("sys.unraisablehook", unraisable.append)
    report = check_history(cleans_up, WAITING)
    del report
    gc.collect()
    assert unraisable == []


def test_a_failure_the_runtime_imposed_where_the_code_waited_is_consistent():
    """A turn that did not yield in time fails the execution right after the events stored before
    it: the code, replayed, is still waiting there, as it was when the runtime ended it."""
    timed_out = history(
        OrchestrationStarted("Flow", "1.0.0", 7),
        ActivityScheduled("Charge", 7),
        OrchestrationFailed(FailureDetails("TurnTimeoutError", "the orchestration did not yield for 2000 ms")),
    )
    report = check_history(flow, timed_out)
    assert report.consistent and report.replayed_outcome == "Failed"

    raised = history(
        OrchestrationStarted("Flow", "1.0.0", 7),
        ActivityScheduled("Charge", 7),
        OrchestrationFailed(FailureDetails("ValueError", "the code raised this, so it must raise it again")),
    )
    assert not check_history(flow, raised).consistent
