"""The runtime's cached generator and a full replay from the history must agree.

(The Harness already runs every turn both ways; these tests spell the property out on a long run.)
"""

from __future__ import annotations

from duroxide_cli.replay import Replayer
from duroxide_cli.replay.actions import Completed

from .builders import GuidSource, activity_done, activity_error, child_done, raised, timer_fired
from .harness import Harness, assert_same_turn, replay


def busy(ctx, order):
    ctx.set_custom_status("starting")
    stamp = yield ctx.utc_now()
    guid = yield ctx.new_guid()
    lines = yield ctx.all([ctx.schedule_activity("Pick", line) for line in order["lines"]], return_exceptions=True)
    picked = [line for line in lines if not isinstance(line, Exception)]
    index, approval = yield ctx.race(ctx.wait_for_event("Approval"), ctx.schedule_timer(60_000))
    ctx.set_custom_status({"picked": len(picked)})
    shipped = yield ctx.schedule_sub_orchestration("Ship", picked)
    paid = yield ctx.schedule_activity_with_retry("Charge", order, {"max_attempts": 2, "initial_delay_ms": 50})
    return {
        "stamp": stamp,
        "guid": guid,
        "picked": picked,
        "approved": index == 0 and approval,
        "shipped": shipped,
        "paid": paid,
    }


def run_busy(check_full_replay: bool) -> Harness:
    h = Harness(busy, check_full_replay=check_full_replay)
    h.start({"lines": ["a", "b", "c"]})
    h.turn(activity_done(h.activity("Pick", 0), "A"), raised("Noise"), activity_error(h.activity("Pick", 1)))
    h.turn(raised("Approval", True), activity_done(h.activity("Pick", 2), "C"))
    h.turn(
        child_done(h.scheduled("SubOrchestrationScheduled")[0], "shipped"), activity_done(h.activity("Pick", 2), "dup")
    )
    h.turn(activity_error(h.activity("Charge")))
    h.turn(timer_fired(h.timers()[-1]))
    h.turn(activity_done(h.activity("Charge", 1), "paid"))
    return h


def test_full_replay_of_a_long_run_gives_the_same_outcome_and_state():
    cached = run_busy(check_full_replay=False)
    assert cached.outcome == Completed(
        {
            "stamp": 1000,
            "guid": "guid-t1-1",
            "picked": ["A", "C"],
            "approved": True,
            "shipped": "shipped",
            "paid": "paid",
        }
    )

    fresh, result = replay(busy, cached.history)
    assert fresh.divergence is None
    assert result.outcome == cached.outcome
    assert result.custom_status == cached.results[-1].custom_status == {"picked": 2}
    assert fresh.history == cached.history
    assert (fresh.name, fresh.version, fresh.event_count) == ("Test", "1.0.0", len(cached.history))
    assert result.new_events == [] and result.actions == [] and result.traces == []


def test_every_turn_of_a_long_run_is_the_same_from_cache_and_from_history():
    run_busy(check_full_replay=True)  # the harness compares each turn with a full replay


def test_replaying_a_history_turn_by_turn_equals_replaying_it_at_once():
    run = run_busy(check_full_replay=False)
    history = run.history
    whole = Replayer(busy, "inst-1", 1)
    whole.run_turn(history, [], 0, GuidSource())

    # a cached generator is fed the events of whole turns (a store commits a turn at once)
    pieces = Replayer(busy, "inst-1", 1)
    start = 0
    for turn in run.results:
        end = start + len(turn.new_events)
        pieces.run_turn(history[start:end], [], 0, GuidSource())
        start = end
    assert pieces.outcome == whole.outcome
    assert pieces.divergence is None and pieces.history == whole.history


def test_a_turn_after_a_cache_miss_matches_the_cached_turn():
    h = Harness(busy, check_full_replay=False)
    h.start({"lines": ["a"]})
    h.turn(activity_done(h.activity("Pick"), "A"))
    messages = [raised("Approval", False)]

    fresh = Replayer(busy, "inst-1", 1)
    from_history = fresh.run_turn(list(h.history), messages, 5_000, GuidSource("x"))
    from_cache = h.replayer.run_turn([], messages, 5_000, GuidSource("x"))
    assert_same_turn(from_cache, from_history)
    assert [a.name for a in from_cache.actions] == ["Ship"]
