"""ctx.trace_* and ctx.set_custom_status: visible for live steps, silent on replay."""

from __future__ import annotations

from duroxide_cli.replay.actions import Completed

from .builders import activity_done
from .harness import Harness, replay


def traced(ctx):
    ctx.trace_info("starting")
    ctx.set_custom_status({"step": "charging"})
    yield ctx.schedule_activity("Charge")
    ctx.trace_warn("charged, shipping")
    ctx.trace_error("an error line")
    ctx.trace_debug("a debug line")
    ctx.set_custom_status({"step": "shipping"})
    yield ctx.schedule_activity("Ship")
    ctx.trace_info("done")
    return "ok"


def test_traces_of_live_steps_are_returned_with_their_levels():
    h = Harness(traced)
    assert h.start().traces == [("info", "starting")]
    assert h.turn(activity_done(h.activity("Charge"))).traces == [
        ("warning", "charged, shipping"),
        ("error", "an error line"),
        ("debug", "a debug line"),
    ]
    assert h.turn(activity_done(h.activity("Ship"))).traces == [("info", "done")]


def test_traces_are_silent_on_replay():
    h = Harness(traced)
    h.start()
    h.turn(activity_done(h.activity("Charge")))
    h.turn(activity_done(h.activity("Ship")))

    _, result = replay(traced, h.history)
    assert result.traces == []
    ship = h.activity("Ship")
    _, partial = replay(traced, h.history[: ship.event_id], messages=[activity_done(ship)])
    assert partial.traces == [("info", "done")], "only the step that runs live traces"


def test_trace_messages_are_turned_into_text():
    def wf(ctx):
        ctx.trace_info({"order": 1})
        yield ctx.schedule_timer(1)

    assert Harness(wf).start().traces == [("info", "{'order': 1}")]


def test_custom_status_is_recorded_when_it_changes_and_reported_each_turn():
    h = Harness(traced)
    first = h.start()
    assert first.custom_status == {"step": "charging"}
    assert [e.kind for e in first.new_events] == ["OrchestrationStarted", "CustomStatusSet", "ActivityScheduled"]
    second = h.turn(activity_done(h.activity("Charge")))
    assert second.custom_status == {"step": "shipping"}
    assert [e.body.value for e in h.history if e.kind == "CustomStatusSet"] == [
        {"step": "charging"},
        {"step": "shipping"},
    ]
    third = h.turn(activity_done(h.activity("Ship")))
    assert third.custom_status == {"step": "shipping"}, "a turn that does not set it still reports it"


def test_setting_the_same_custom_status_again_records_nothing():
    def wf(ctx):
        for _ in range(3):
            ctx.set_custom_status("waiting")
            yield ctx.schedule_timer(1)

    h = Harness(wf)
    h.start()
    assert [e.kind for e in h.history].count("CustomStatusSet") == 1


def test_custom_status_is_restored_by_a_full_replay():
    h = Harness(traced)
    h.start()
    h.turn(activity_done(h.activity("Charge")))

    _, result = replay(traced, h.history)
    assert result.custom_status == {"step": "shipping"}
    assert result.new_events == []


def test_custom_status_passes_through_json():
    def wf(ctx):
        ctx.set_custom_status(("a", 1))
        return "done"
        yield  # pragma: no cover

    h = Harness(wf)
    assert h.start().custom_status == ["a", 1]
    assert h.outcome == Completed("done")
