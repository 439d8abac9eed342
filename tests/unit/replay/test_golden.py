"""Golden histories: files in the ``history export`` shape that the engine must keep reading,
recording and replaying the same way."""

from __future__ import annotations

import json
import os

import pytest

from duroxide_cli.errors import NondeterminismError
from duroxide_cli.history import HistoryEvent
from duroxide_cli.replay.actions import Completed, Continue, ContinuedAsNew, Failed

from .builders import GOLDEN, export, load_golden
from .golden_workflows import SCENARIOS, Scenario, order_v1, record
from .harness import line_of, replay

REGENERATE = os.environ.get("DUROXIDE_REGENERATE_GOLDEN") == "1"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_engine_records_exactly_the_golden_history(scenario: Scenario):
    h = record(scenario)
    document = export(scenario.instance_id, scenario.execution_id, h.history)
    path = GOLDEN / f"{scenario.name}.json"
    if REGENERATE:
        path.write_text(document)
    assert path.read_text() == document, f"the engine now records {scenario.name} differently"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_golden_history_replays_to_its_recorded_ending(scenario: Scenario):
    instance_id, execution_id, events = load_golden(scenario.name)
    replayer, result = replay(scenario.orchestration, events, instance_id=instance_id, execution_id=execution_id)
    assert replayer.divergence is None
    assert result.new_events == [] and result.actions == [] and result.traces == []
    ending = events[-1].body
    if events[-1].kind == "OrchestrationCompleted":
        assert result.outcome == Completed(ending.output)
    elif events[-1].kind == "ContinuedAsNew":
        assert isinstance(result.outcome, ContinuedAsNew) and result.outcome.input == ending.input
    else:
        assert result.outcome == Continue()


def test_golden_files_are_in_the_history_export_shape():
    for scenario in SCENARIOS:
        data = json.loads((GOLDEN / f"{scenario.name}.json").read_text())
        assert list(data) == ["instance_id", "execution_id", "events"]
        assert [e["event_id"] for e in data["events"]] == list(range(1, len(data["events"]) + 1))
        for raw in data["events"]:
            assert list(raw)[:3] == ["event_id", "kind", "timestamp_ms"]
            assert HistoryEvent.from_json(raw).to_json() == raw


def test_order_fan_out_golden_shows_completions_in_arrival_order():
    _, _, events = load_golden("order_fan_out")
    picks = {e.event_id: e.body.input for e in events if e.kind == "ActivityScheduled" and e.body.name == "Pick"}
    completed = [
        picks[e.source_event_id] for e in events if e.kind == "ActivityCompleted" and e.source_event_id in picks
    ]
    assert completed == ["lamp", "book", "pen"]
    assert events[-1].body.output["picked"] == ["book#7", "pen#3", "lamp#1"], "all() keeps list order"
    child = next(e for e in events if e.kind == "SubOrchestrationScheduled")
    assert child.body.instance_id == f"order-42::1::{child.event_id}"


def test_race_with_timer_golden_records_no_approval_and_an_escalation():
    _, _, events = load_golden("race_with_timer")
    kinds = [e.kind for e in events]
    assert kinds == [
        "OrchestrationStarted",
        "EventSubscribed",
        "TimerCreated",
        "TimerFired",
        "ActivityScheduled",
        "ActivityCompleted",
        "OrchestrationCompleted",
    ]
    assert events[2].body.fire_at_ms == 1_000 + 86_400_000


def test_retry_backoff_golden_records_attempts_and_delays():
    _, _, events = load_golden("retry_backoff")
    attempts = [e.body.attempt for e in events if e.kind == "ActivityScheduled"]
    assert attempts == [1, 2, 3]
    timers = [(e.timestamp_ms, e.body.fire_at_ms) for e in events if e.kind == "TimerCreated"]
    # each attempt's 30 s timeout, and the back-off after a failure: 1 s, then 2 s
    assert timers == [(1_000, 31_000), (1_500, 2_500), (2_500, 32_500), (3_000, 5_000), (5_000, 35_000)]


def test_continue_as_new_golden_carries_the_undelivered_events():
    instance_id, execution_id, events = load_golden("continue_as_new")
    replayer, result = replay(SCENARIOS[3].orchestration, events, instance_id=instance_id, execution_id=execution_id)
    assert execution_id == 3
    assert result.outcome.input == {"total": 17, "executions": 4}
    # "Reset" was recorded but never awaited; the second "Tick" came after the code continued as new
    # in the same turn, so it was carried without being recorded and a replay cannot know of it
    assert [(e.name, e.data) for e in result.outcome.carried_events] == [("Reset", None)]


def order_v2(ctx, order):
    """Changed code: the delay before shipping became an approval step."""
    receipt = yield ctx.schedule_activity("Charge", order)
    yield ctx.wait_for_event("ShippingApproved")  # <- changed
    shipment = yield ctx.schedule_activity("Ship", {"order": order, "receipt": receipt})
    return shipment


def test_nondeterministic_golden_replays_with_the_code_that_recorded_it():
    instance_id, execution_id, events = load_golden("nondeterministic_order")
    replayer, result = replay(order_v1, events, instance_id=instance_id)
    assert replayer.divergence is None and result.outcome == Continue()


def test_changed_code_against_the_nondeterministic_golden_fails_naming_event_action_and_line():
    instance_id, execution_id, events = load_golden("nondeterministic_order")
    replayer, result = replay(order_v2, events, instance_id=instance_id, execution_id=execution_id)

    error = replayer.divergence
    assert isinstance(error, NondeterminismError)
    location = line_of(order_v2, "# <- changed")
    assert location.startswith("test_golden.py:")
    assert error.recorded == "TimerCreated (event 4)"
    assert error.action == "waited for event 'ShippingApproved'"
    assert error.location == location
    message = str(error)
    assert "\n" not in message
    assert all(part in message for part in ("TimerCreated (event 4)", "waited for event 'ShippingApproved'", location))
    assert isinstance(result.outcome, Failed)
    assert result.outcome.failure.error_type == "NondeterminismError"
    assert result.outcome.failure.message == message
