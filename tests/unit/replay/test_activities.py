"""Scheduling activities: what the code gets back, what is recorded, what work is asked for."""

from __future__ import annotations

from duroxide_cli.errors import ActivityError
from duroxide_cli.replay.actions import Completed, Continue, Failed, ScheduleActivity

from .builders import activity_done, activity_error
from .harness import Harness, replay


def order(ctx, order):
    paid = yield ctx.schedule_activity("Charge", order)
    shipped = yield ctx.schedule_activity("Ship", {"id": order["id"], "paid": paid})
    return {"paid": paid, "shipped": shipped}


def test_first_turn_records_the_start_and_schedules_the_first_activity():
    h = Harness(order)
    result = h.start({"id": 7, "total": 5}, name="Order")

    assert h.kinds == ["OrchestrationStarted", "ActivityScheduled"]
    assert result.actions == [ScheduleActivity(2, "Charge", {"id": 7, "total": 5}, 1)]
    assert result.outcome == Continue()
    assert h.replayer.name == "Order" and h.replayer.version == "1.0.0"


def test_activity_result_is_what_the_yield_gives_back():
    h = Harness(order)
    h.start({"id": 7, "total": 5})
    second = h.turn(activity_done(2, {"charged": 5}))

    assert second.actions == [ScheduleActivity(4, "Ship", {"id": 7, "paid": {"charged": 5}}, 1)]
    final = h.turn(activity_done(4, "shipped"))
    assert final.outcome == Completed({"paid": {"charged": 5}, "shipped": "shipped"})
    assert h.kinds[-1] == "OrchestrationCompleted"
    assert h.history[-1].body.output == {"paid": {"charged": 5}, "shipped": "shipped"}


def test_orchestration_without_an_input_parameter_is_called_with_ctx_only():
    def no_input(ctx):
        value = yield ctx.schedule_activity("A")
        return value

    h = Harness(no_input)
    h.start("ignored input")
    assert h.turn(activity_done(2, 1)).outcome == Completed(1)


def test_failed_activity_raises_activity_error_with_the_original_fields():
    seen = []

    def wf(ctx):
        try:
            yield ctx.schedule_activity("Charge", 1)
        except ActivityError as error:
            seen.append(error)
            return {"type": error.error_type, "message": error.message}

    h = Harness(wf)
    h.start()
    result = h.turn(activity_error(2, "CardDeclined", "card 4242 declined", "Traceback (most recent call last): ..."))

    assert result.outcome == Completed({"type": "CardDeclined", "message": "card 4242 declined"})
    error = seen[-1]
    assert error.activity_name == "Charge"
    assert error.error_type == "CardDeclined"
    assert error.message == "card 4242 declined"
    assert error.details.startswith("Traceback")
    assert str(error) == "activity 'Charge' failed: CardDeclined: card 4242 declined"


def test_unhandled_activity_failure_fails_the_orchestration_with_activity_error():
    h = Harness(order)
    h.start({"id": 1})
    result = h.turn(activity_error(2, "CardDeclined", "no funds"))

    assert isinstance(result.outcome, Failed)
    failure = result.outcome.failure
    assert failure.error_type == "ActivityError"
    assert failure.message == "activity 'Charge' failed: CardDeclined: no funds"
    assert "test_activities.py" in failure.details
    assert h.kinds[-1] == "OrchestrationFailed"
    assert h.history[-1].body.failure == failure


def test_exception_raised_by_the_code_fails_the_orchestration():
    def wf(ctx):
        yield ctx.schedule_activity("A")
        raise ValueError("the order has no lines")

    h = Harness(wf)
    h.start()
    result = h.turn(activity_done(2))
    assert isinstance(result.outcome, Failed)
    assert (result.outcome.failure.error_type, result.outcome.failure.message) == (
        "ValueError",
        "the order has no lines",
    )


def test_exception_before_the_first_yield_fails_the_first_turn():
    def wf(ctx, input):
        raise KeyError(input)
        yield  # pragma: no cover

    result = Harness(wf).start("x")
    assert isinstance(result.outcome, Failed)
    assert result.outcome.failure.error_type == "KeyError"


def test_orchestration_that_returns_at_once_completes_in_the_first_turn():
    def wf(ctx, input):
        return input * 2
        yield  # pragma: no cover

    h = Harness(wf)
    assert h.start(21).outcome == Completed(42)
    assert h.kinds == ["OrchestrationStarted", "OrchestrationCompleted"]


def test_payloads_pass_through_json_so_tuples_become_lists():
    def wf(ctx):
        value = yield ctx.schedule_activity("A", (1, 2))
        return (value, {1: "a"})

    h = Harness(wf)
    first = h.start()
    assert first.actions == [ScheduleActivity(2, "A", [1, 2], 1)]
    assert h.turn(activity_done(2, [3])).outcome == Completed([[3], {"1": "a"}])


def test_context_fields_describe_the_execution():
    seen = {}

    def wf(ctx):
        seen.update(
            instance_id=ctx.instance_id,
            execution_id=ctx.execution_id,
            name=ctx.orchestration_name,
            version=ctx.orchestration_version,
        )
        yield ctx.schedule_timer(1)

    Harness(wf, instance_id="order-9", execution_id=3).start(name="Order", version="2.1.0")
    assert seen == {"instance_id": "order-9", "execution_id": 3, "name": "Order", "version": "2.1.0"}


def test_is_replaying_is_true_only_while_the_code_reruns_recorded_steps():
    flags = []

    def wf(ctx):
        flags.append(("start", ctx.is_replaying))
        yield ctx.schedule_activity("A")
        flags.append(("after A", ctx.is_replaying))
        yield ctx.schedule_activity("B")
        flags.append(("after B", ctx.is_replaying))

    h = Harness(wf, check_full_replay=False)
    h.start()
    h.turn(activity_done(2))
    assert flags == [("start", False), ("after A", False)]

    flags.clear()
    replay(wf, h.history, messages=[activity_done(4)])
    assert flags == [("start", True), ("after A", True), ("after B", False)]
