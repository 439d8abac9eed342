"""A history recorded by one version of the code, replayed by another."""

from __future__ import annotations

from duroxide_cli.replay.actions import Completed, Continue, Failed

from .builders import activity_done, raised
from .harness import Harness, line_of, replay


def v1(ctx, order):
    paid = yield ctx.schedule_activity("Charge", order)
    yield ctx.wait_for_event("Packed")
    shipped = yield ctx.schedule_activity("Ship", order)
    return {"paid": paid, "shipped": shipped}


def v1_with_logging_and_helpers(ctx, order):
    """Compatible: traces, status and refactoring into a helper do not change what is scheduled."""
    ctx.trace_info(f"order {order}")
    paid = yield from _charge(ctx, order)
    ctx.set_custom_status("packing")
    yield ctx.wait_for_event("Packed")
    shipped = yield ctx.schedule_activity("Ship", order)
    return {"paid": paid, "shipped": shipped}


def _charge(ctx, order):
    result = yield ctx.schedule_activity("Charge", order)
    return result


def v2_adds_a_step_before_shipping(ctx, order):
    paid = yield ctx.schedule_activity("Charge", order)
    yield ctx.wait_for_event("Packed")
    yield ctx.schedule_activity("Insure", order)  # <- new step
    shipped = yield ctx.schedule_activity("Ship", order)
    return {"paid": paid, "shipped": shipped}


def recorded_by_v1(turns: int):
    h = Harness(v1)
    h.start(7)
    messages = [activity_done(2, "paid"), raised("Packed"), activity_done(6, "shipped")]
    for message in messages[:turns]:
        h.turn(message)
    return h


def test_compatible_code_replays_a_finished_history_to_the_same_result():
    history = recorded_by_v1(3).history
    replayer, result = replay(v1_with_logging_and_helpers, history)
    assert replayer.divergence is None
    assert result.outcome == Completed({"paid": "paid", "shipped": "shipped"})
    assert result.new_events == [] and result.actions == [] and result.traces == []


def test_compatible_code_picks_up_a_running_instance_where_it_was():
    history = recorded_by_v1(2).history
    replayer, result = replay(v1_with_logging_and_helpers, history, messages=[activity_done(6, "shipped")])
    assert result.outcome == Completed({"paid": "paid", "shipped": "shipped"})
    assert replayer.divergence is None


def test_incompatible_code_fails_a_running_instance_with_a_nondeterminism_error():
    history = recorded_by_v1(2).history
    replayer, result = replay(v2_adds_a_step_before_shipping, history, messages=[activity_done(6, "shipped")])
    assert isinstance(result.outcome, Failed)
    error = replayer.divergence
    assert error.recorded == "ActivityScheduled 'Ship' with input 7 (event 6)"
    assert error.action == "scheduled activity 'Insure' with input 7"
    assert error.location == line_of(v2_adds_a_step_before_shipping, "# <- new step")
    assert [d.reason for d in result.dropped] == ["the execution has already ended (Failed)"]


def test_incompatible_change_after_the_recorded_point_is_not_a_divergence():
    # the instance has only reached the wait: v2's new step comes after it, so v2 can take over
    history = recorded_by_v1(1).history
    replayer, result = replay(v2_adds_a_step_before_shipping, history, messages=[raised("Packed")])
    assert replayer.divergence is None
    assert result.outcome == Continue()
    assert [a.name for a in result.actions] == ["Insure"]
