"""Closing a generator (a cache eviction, or the end of an execution) runs the code's ``finally``
blocks against a context that does nothing: they cannot schedule, trace or set a status."""

from __future__ import annotations

from duroxide_cli.replay import Replayer
from duroxide_cli.replay.actions import Continue, ContinuedAsNew

from .builders import activity_done, raised
from .harness import Harness


def make_cleanup(ran: list):
    def with_cleanup(ctx):
        try:
            yield ctx.schedule_activity("Work")
            yield ctx.wait_for_event("Go")
        finally:
            ran.append("finally")
            ctx.trace_info("cleaning up")
            ctx.set_custom_status("cleaning up")
            yield ctx.schedule_activity("Cleanup")
            ran.append("after yield in finally")  # pragma: no cover - never resumed

    return with_cleanup


def test_close_runs_finally_but_records_nothing():
    ran = []
    h = Harness(make_cleanup(ran), check_full_replay=False)
    last = h.start()
    before = (
        list(h.replayer.history),
        list(last.new_events),
        list(last.actions),
        list(last.traces),
        last.custom_status,
    )

    h.replayer.close()
    assert ran == ["finally"]
    after = (h.replayer.history, last.new_events, last.actions, last.traces, last.custom_status)
    assert after == before
    assert ran == ["finally"]


def test_closed_replayer_is_not_resumed_by_later_messages():
    ran = []
    h = Harness(make_cleanup(ran), check_full_replay=False)
    h.start()
    h.replayer.close()
    h.replayer.close()  # closing twice is harmless
    assert ran == ["finally"]


def test_continue_as_new_runs_finally_without_scheduling_the_cleanup():
    ran = []

    def loop(ctx):
        try:
            yield ctx.wait_for_event("Go")
            yield ctx.continue_as_new("next")
        finally:
            ran.append("finally")
            yield ctx.schedule_activity("Cleanup")

    h = Harness(loop, check_full_replay=False)
    h.start()
    result = h.turn(raised("Go"))
    assert isinstance(result.outcome, ContinuedAsNew)
    assert ran == ["finally"]
    assert result.actions == [] and h.kinds[-1] == "ContinuedAsNew"


def test_close_of_a_replayer_that_never_ran_is_harmless():
    Replayer(make_cleanup([]), "inst-1", 1).close()


def test_closing_while_replaying_does_not_leak_into_the_next_turn():
    ran = []
    fn = make_cleanup(ran)
    h = Harness(fn, check_full_replay=False)
    h.start()
    h.turn(activity_done(2))

    evicted = Replayer(fn, "inst-1", 1)
    evicted.run_turn(list(h.history), [], 0, lambda: "g")
    evicted.close()
    h.replayer.close()
    assert ran == ["finally", "finally"]
    assert evicted.outcome == Continue()
    assert evicted.history == h.history
