"""Mistakes in orchestration code fail the orchestration with a message that says what and where."""

from __future__ import annotations

import asyncio
import sys

import pytest

from duroxide_cli.model.options import MAX_DELAY_MS
from duroxide_cli.replay.actions import Completed, Failed

from .builders import HistoryBuilder, activity_done, timer_fired
from .harness import Harness, line_of, replay


def failure_of(fn, *messages, input=None):
    h = Harness(fn)
    result = h.start(input)
    for message in messages:
        result = h.turn(message)
    assert isinstance(result.outcome, Failed), result.outcome
    assert h.kinds[-1] == "OrchestrationFailed"
    return result.outcome.failure


def test_yielding_a_plain_value_fails_naming_the_line():
    def wf(ctx):
        yield 42  # <- not a task

    failure = failure_of(wf)
    assert failure.error_type == "TypeError"
    assert failure.message == (
        f"the orchestration yielded int 42 at {line_of(wf, '# <- not a task')}; "
        "yield tasks from ctx (ctx.schedule_activity(...), ctx.schedule_timer(...), ...)"
    )


def test_yielding_a_coroutine_fails_saying_orchestrations_cannot_await():
    async def fetch():
        return 1

    coroutines = []

    def wf(ctx):
        coroutine = fetch()
        coroutines.append(coroutine)
        yield coroutine  # <- a coroutine

    try:
        failure = failure_of(wf)
    finally:
        for coroutine in coroutines:
            coroutine.close()
    assert failure.error_type == "TypeError"
    assert failure.message.startswith(
        f"the orchestration yielded a coroutine (coroutine); orchestrations cannot await at {line_of(wf, '# <- a coroutine')}"
    )


def test_yielding_a_future_fails_naming_the_line():
    loop = asyncio.new_event_loop()
    try:

        def wf(ctx):
            yield loop.create_future()  # <- a future

        failure = failure_of(wf)
    finally:
        loop.close()
    assert line_of(wf, "# <- a future") in failure.message
    assert "orchestrations cannot await" in failure.message


def test_yielding_a_task_descriptor_class_instead_of_a_call_fails():
    def wf(ctx):
        yield ctx.schedule_activity  # <- forgot to call it

    failure = failure_of(wf)
    assert failure.error_type == "TypeError"
    assert line_of(wf, "# <- forgot to call it") in failure.message


def test_mistake_on_a_later_turn_names_its_line():
    def wf(ctx):
        yield ctx.schedule_activity("A")
        yield None  # <- later mistake

    failure = failure_of(wf, activity_done(2))
    assert f"the orchestration yielded NoneType None at {line_of(wf, '# <- later mistake')}" in failure.message


@pytest.mark.parametrize("combinator", ["all", "race"])
@pytest.mark.parametrize("inner", ["all", "race"])
def test_nested_all_or_race_is_rejected_as_nested(combinator, inner):
    def wf(ctx):
        inner_task = getattr(ctx, inner)([ctx.schedule_timer(1), ctx.schedule_timer(2)])
        outer = getattr(ctx, combinator)
        yield outer([inner_task, ctx.schedule_timer(3)])

    failure = failure_of(wf)
    assert failure.error_type == "TypeError"
    assert "nested" in failure.message
    assert failure.message.startswith(f"ctx.{combinator} cannot take a nested ctx.all or ctx.race")


def test_nested_rejection_schedules_nothing():
    def wf(ctx):
        yield ctx.all([ctx.all([ctx.schedule_activity("A")])])

    h = Harness(wf)
    result = h.start()
    assert result.actions == []
    assert h.kinds == ["OrchestrationStarted", "OrchestrationFailed"]


def test_continue_as_new_inside_all_is_rejected():
    def wf(ctx):
        yield ctx.all([ctx.continue_as_new(1)])

    assert "got ContinueAsNewTask" in failure_of(wf).message


def test_output_json_cannot_encode_fails_with_a_type_error_naming_the_path():
    def wf(ctx):
        yield ctx.schedule_timer(0)
        return {"order": {"lines": [1, {2, 3}]}}

    h = Harness(wf)
    h.start()
    result = h.turn(timer_fired(h.event(2)))
    failure = result.outcome.failure
    assert failure.error_type == "TypeError"
    assert failure.message.startswith(
        "the orchestration's output['order']['lines'][1] is a set, which JSON cannot encode"
    )


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (float("nan"), "the orchestration's output is nan, which JSON cannot encode"),
        ({"ratio": float("inf")}, "the orchestration's output['ratio'] is inf, which JSON cannot encode"),
        ({1j: 1}, "the orchestration's output has a key of type complex"),
    ],
    ids=["nan", "inf", "complex key"],
)
def test_output_json_cannot_encode_names_the_value(output, message):
    def wf(ctx):
        return output
        yield  # pragma: no cover

    failure = failure_of(wf)
    assert failure.error_type == "TypeError" and failure.message.startswith(message)


def test_cyclic_output_is_reported_as_a_cycle():
    def wf(ctx):
        loop = []
        loop.append(loop)
        return {"loop": loop}
        yield  # pragma: no cover

    assert failure_of(wf).message.startswith("the orchestration's output['loop'][0] contains itself (a cycle)")


def test_activity_input_json_cannot_encode_fails_at_the_call():
    def wf(ctx):
        yield ctx.schedule_activity("A", {"when": object()})

    failure = failure_of(wf)
    assert failure.error_type == "TypeError"
    assert failure.message.startswith("input of activity 'A'['when'] is an object, which JSON cannot encode")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda ctx: ctx.schedule_timer(-1), f"timer delay must be a number of milliseconds from 0 to {MAX_DELAY_MS} (100 years), got -1"),
        (lambda ctx: ctx.schedule_timer(sys.maxsize), f"timer delay must be a number of milliseconds from 0 to {MAX_DELAY_MS} (100 years), got {sys.maxsize}"),
        (lambda ctx: ctx.schedule_timer(float("inf")), f"timer delay must be a number of milliseconds from 0 to {MAX_DELAY_MS} (100 years), got inf"),
        (lambda ctx: ctx.schedule_timer(float("nan")), f"timer delay must be a number of milliseconds from 0 to {MAX_DELAY_MS} (100 years), got nan"),
        (lambda ctx: ctx.schedule_activity(""), "activity name must be a non-empty string, got ''"),
        (lambda ctx: ctx.start_orchestration("X", "x" * 257), "instance id is 257 characters long; the limit is 256"),
    ],
    ids=["negative timer", "timer past the maximum", "infinite timer", "NaN timer", "empty name", "long id"],
)
def test_bad_arguments_to_ctx_fail_the_orchestration(call, message):
    def wf(ctx):
        yield call(ctx)

    failure = failure_of(wf)
    assert failure.error_type == "ValueError" and failure.message == message


def test_mistake_inside_a_yield_from_helper_names_the_helpers_line():
    def helper(ctx):
        yield ctx.schedule_timer(0)
        yield "oops"  # <- in the helper

    def wf(ctx):
        yield from helper(ctx)

    h = Harness(wf)
    h.start()
    result = h.turn(timer_fired(h.event(2)))
    assert line_of(helper, "# <- in the helper") in result.outcome.failure.message


def test_divergence_inside_a_yield_from_helper_names_the_innermost_line():
    def charge(ctx, order):
        result = yield ctx.schedule_activity("ChargeCard", order)  # <- innermost
        return result

    def wf(ctx, order):
        paid = yield from charge(ctx, order)
        return paid

    h = HistoryBuilder()
    h.started(input=1)
    h.activity_scheduled("Charge", 1)

    replayer, _ = replay(wf, h.events)
    assert replayer.divergence.location == line_of(charge, "# <- innermost")


def test_yield_from_helpers_return_values_to_the_caller():
    def charge(ctx, order):
        result = yield ctx.schedule_activity("Charge", order)
        return {"charged": result}

    def wf(ctx, order):
        paid = yield from charge(ctx, order)
        return paid

    h = Harness(wf)
    h.start(5)
    assert h.turn(activity_done(2, 5)).outcome == Completed({"charged": 5})


def test_location_of_the_innermost_frame_is_reported_while_suspended():
    def inner(ctx):
        yield ctx.schedule_timer(1)  # <- suspended here

    def outer(ctx):
        yield from inner(ctx)

    h = Harness(outer)
    h.start()
    assert h.replayer.location() == line_of(inner, "# <- suspended here")
