"""Every kind of history event is recorded by a live turn and replays to the same state."""

from __future__ import annotations

import json

import pytest

from duroxide_cli.history import EVENT_TYPES, HistoryEvent
from duroxide_cli.replay.actions import Cancelled, Completed, ContinuedAsNew, Failed

from .builders import activity_done, activity_error, cancel, child_done, child_error, raised, timer_fired
from .harness import Harness, replay


def everything(ctx, input):
    ctx.set_custom_status("busy")  # CustomStatusSet
    now = yield ctx.utc_now()  # SystemCall
    yield ctx.start_orchestration("Audit", "audit-1")  # OrchestrationChained
    ok = yield ctx.schedule_activity("Ok")  # ActivityScheduled, ActivityCompleted
    try:
        yield ctx.schedule_activity("Broken")  # ActivityFailed
    except Exception as error:  # noqa: BLE001
        broken = error.error_type
    yield ctx.schedule_timer(10)  # TimerCreated, TimerFired
    data = yield ctx.wait_for_event("Go")  # EventSubscribed, EventRaised
    child = yield ctx.schedule_sub_orchestration("Child")  # SubOrchestrationScheduled, ...Completed
    try:
        yield ctx.schedule_sub_orchestration("BadChild")  # SubOrchestrationFailed
    except Exception as error:  # noqa: BLE001
        bad = error.error_type
    if input == "fail":
        raise ValueError("asked to fail")  # OrchestrationFailed
    if input == "again":
        yield ctx.continue_as_new("next")  # ContinuedAsNew
    if input == "wait":
        yield ctx.wait_for_event("Never")  # CancelRequested, OrchestrationCancelled
    return [now, ok, broken, data, child, bad]  # OrchestrationCompleted


def run_everything(input: str) -> Harness:
    h = Harness(everything)
    h.start(input)
    h.turn(activity_done(h.activity("Ok"), "ok"))
    h.turn(activity_error(h.activity("Broken"), "KeyError", "gone"))
    h.turn(timer_fired(h.timers()[0]), raised("Go", "go"))
    children = h.scheduled("SubOrchestrationScheduled")
    h.turn(child_done(children[0], "child"))
    h.turn(child_error(h.scheduled("SubOrchestrationScheduled")[1], "RuntimeError", "child broke"))
    if input == "wait":
        h.turn(cancel("enough"))
    return h


ENDINGS = {
    "complete": ("OrchestrationCompleted", Completed([1000, "ok", "KeyError", "go", "child", "RuntimeError"])),
    "fail": ("OrchestrationFailed", Failed),
    "again": ("ContinuedAsNew", ContinuedAsNew("next", None, ())),
    "wait": ("OrchestrationCancelled", Cancelled("enough")),
}


@pytest.mark.parametrize("input", list(ENDINGS))
def test_every_kind_is_recorded_live_and_replays_from_json(input):
    h = run_everything(input)
    kind, outcome = ENDINGS[input]
    assert h.kinds[-1] == kind
    if outcome is Failed:
        assert isinstance(h.outcome, Failed) and h.outcome.failure.message == "asked to fail"
    elif isinstance(outcome, Cancelled):
        assert isinstance(h.outcome, Cancelled) and h.outcome.reason == outcome.reason
        assert h.outcome.failure.error_type == "OrchestrationCancelled"
    else:
        assert h.outcome == outcome

    as_json = json.loads(json.dumps([e.to_json() for e in h.history]))
    events = [HistoryEvent.from_json(e) for e in as_json]
    assert events == h.history
    replayer, result = replay(everything, events)
    assert replayer.divergence is None
    assert result.outcome == h.outcome
    assert result.new_events == [] and result.actions == []


def test_the_runs_above_cover_every_event_kind():
    covered = set()
    for input in ENDINGS:
        covered.update(run_everything(input).kinds)
    assert covered == set(EVENT_TYPES) - {"ExecutionReset"}, "a reset's marker is covered by test_reset.py"
