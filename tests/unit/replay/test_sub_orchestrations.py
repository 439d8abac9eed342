"""Sub-orchestrations and fire-and-forget starts."""

from __future__ import annotations

from duroxide_cli.errors import SubOrchestrationError
from duroxide_cli.replay.actions import Completed, Failed, StartOrchestration, StartSubOrchestration

from .builders import HistoryBuilder, activity_done, child_done, child_error
from .harness import Harness, replay


def parent(ctx, input):
    output = yield ctx.schedule_sub_orchestration("Payment", {"amount": input}, version="2.0.0")
    return output


def test_child_id_is_derived_from_parent_execution_and_event_ids():
    h = Harness(parent, instance_id="order-1")
    result = h.start(5)
    assert result.actions == [StartSubOrchestration(2, "Payment", "order-1::1::2", {"amount": 5}, "2.0.0")]
    assert h.event(2).body.instance_id == "order-1::1::2"


def test_derived_child_ids_restart_with_the_execution_id_after_continue_as_new():
    h = Harness(parent, instance_id="order-1", execution_id=4)
    assert h.start(5).actions[0].instance_id == "order-1::4::2"


def test_child_ids_differ_for_each_child_of_a_fan_out():
    def fan_out(ctx):
        outputs = yield ctx.all([ctx.schedule_sub_orchestration("Leg", n) for n in range(3)])
        return outputs

    result = Harness(fan_out, instance_id="trip").start()
    assert [a.instance_id for a in result.actions] == ["trip::1::2", "trip::1::3", "trip::1::4"]


def test_explicit_child_id_is_used_as_given():
    def wf(ctx):
        yield ctx.schedule_sub_orchestration_with_id("Payment", "payment-for-order-1", {"amount": 5})

    result = Harness(wf).start()
    assert result.actions == [StartSubOrchestration(2, "Payment", "payment-for-order-1", {"amount": 5}, None)]


def test_replay_keeps_the_recorded_child_id():
    h = HistoryBuilder()
    h.started(input=5)
    child = h.sub_orchestration_scheduled("Payment", "recorded-child-id", {"amount": 5})

    replayer, result = replay(parent, h.events, messages=[child_done(child, "paid")])
    assert replayer.divergence is None
    assert result.outcome == Completed("paid")


def test_child_output_is_what_the_yield_gives_back():
    h = Harness(parent)
    h.start(5)
    assert h.turn(child_done(2, {"paid": 5})).outcome == Completed({"paid": 5})


def test_failed_child_raises_sub_orchestration_error_including_the_childs_error():
    caught = []

    def wf(ctx):
        try:
            yield ctx.schedule_sub_orchestration("Payment", 5)
        except SubOrchestrationError as error:
            caught.append(error)
            raise

    h = Harness(wf, instance_id="order-1")
    h.start()
    result = h.turn(child_error(2, "ActivityError", "activity 'Charge' failed: CardDeclined: no funds", "tb"))

    error = caught[-1]
    assert (error.name, error.instance_id, error.error_type, error.details) == (
        "Payment",
        "order-1::1::2",
        "ActivityError",
        "tb",
    )
    assert error.message == "activity 'Charge' failed: CardDeclined: no funds"
    assert str(error) == (
        "sub-orchestration 'Payment' (order-1::1::2) failed: ActivityError: activity 'Charge' failed: CardDeclined: no funds"
    )
    assert isinstance(result.outcome, Failed)
    assert result.outcome.failure.error_type == "SubOrchestrationError"
    assert "CardDeclined: no funds" in result.outcome.failure.message


def test_cancelled_child_raises_sub_orchestration_error():
    def wf(ctx):
        try:
            yield ctx.schedule_sub_orchestration("Payment", 5)
        except SubOrchestrationError as error:
            return error.error_type

    h = Harness(wf)
    h.start()
    assert h.turn(child_error(2, "OrchestrationCancelled", "cancelled by ops")).outcome == Completed(
        "OrchestrationCancelled"
    )


def test_fire_and_forget_start_gives_none_at_once_and_asks_for_the_start():
    def wf(ctx):
        nothing = yield ctx.start_orchestration("Audit", "audit-1", {"order": 1})
        yield ctx.schedule_activity("Next")
        return nothing

    h = Harness(wf)
    first = h.start()
    assert h.kinds == ["OrchestrationStarted", "OrchestrationChained", "ActivityScheduled"]
    assert first.actions[0] == StartOrchestration("Audit", "audit-1", {"order": 1}, None)
    assert h.turn(activity_done(3)).outcome == Completed(None)


def test_fire_and_forget_start_is_not_asked_for_again_on_replay():
    def wf(ctx):
        yield ctx.start_orchestration("Audit", "audit-1")
        yield ctx.schedule_activity("Next")

    h = Harness(wf)
    h.start()
    _, result = replay(wf, h.history, messages=[activity_done(3)])
    assert result.actions == []
