"""History events: one flat JSON object per event, and back."""

from __future__ import annotations

import dataclasses
import json

import pytest

from duroxide_cli.history import (
    EVENT_TYPES,
    SCHEDULING_KINDS,
    TERMINAL_KINDS,
    ActivityCompleted,
    ActivityFailed,
    ActivityScheduled,
    CancelRequested,
    ContinuedAsNew,
    CustomStatusSet,
    EventRaised,
    EventSubscribed,
    ExecutionReset,
    FailureDetails,
    HistoryEvent,
    OrchestrationCancelled,
    OrchestrationChained,
    OrchestrationCompleted,
    OrchestrationFailed,
    OrchestrationStarted,
    SubOrchestrationCompleted,
    SubOrchestrationFailed,
    SubOrchestrationScheduled,
    SystemCall,
    TimerCreated,
    TimerFired,
    body_from_json,
)

FAILURE = FailureDetails("ValueError", "bad value", "Traceback (most recent call last):\n  ...")

SAMPLES = [
    OrchestrationStarted("Order", "1.2.0", {"id": 1, "lines": ["a", "b"]}, "parent-1", 2, 7),
    OrchestrationStarted("Order", None),
    ActivityScheduled("Charge", {"total": 5.5}, 2),
    ActivityCompleted(3, {"charged": True}),
    ActivityFailed(3, FAILURE),
    TimerCreated(1_700_000_000_000),
    TimerFired(5, 1_700_000_000_000),
    EventSubscribed("Approval"),
    EventRaised("Approval", {"by": "ann", "ok": None}),
    SubOrchestrationScheduled("Payment", "order-1::1::4", [1, 2], "2.0.0"),
    SubOrchestrationCompleted(4, "paid"),
    SubOrchestrationFailed(4, FAILURE),
    OrchestrationChained("Audit", "audit-1", {"order": 1}, None),
    SystemCall("utc_now", 1_700_000_000_123),
    SystemCall("new_guid", "6f1c0a34-0000-4000-8000-000000000000"),
    CustomStatusSet({"step": "shipping"}),
    CancelRequested("customer asked"),
    CancelRequested("runaway", terminate=True),
    ExecutionReset(1, 4, "fixed the bug"),
    ContinuedAsNew({"n": 2}, "1.1.0"),
    OrchestrationCompleted(["done", 1]),
    OrchestrationFailed(FAILURE),
    OrchestrationCancelled(None),
    OrchestrationCancelled("stop", FAILURE),
]


def test_samples_cover_every_kind():
    assert {type(body).__name__ for body in SAMPLES} == set(EVENT_TYPES)


@pytest.mark.parametrize("body", SAMPLES, ids=lambda b: type(b).__name__)
def test_every_kind_survives_a_json_round_trip(body):
    event = HistoryEvent(9, 1_700_000_000_456, body)
    text = json.dumps(event.to_json())
    back = HistoryEvent.from_json(json.loads(text))
    assert back == event
    assert back.kind == type(body).__name__


def test_event_json_is_one_flat_object_with_the_envelope_first():
    event = HistoryEvent(4, 1000, ActivityCompleted(2, {"charged": 5}))
    assert list(event.to_json().items()) == [
        ("event_id", 4),
        ("kind", "ActivityCompleted"),
        ("timestamp_ms", 1000),
        ("source_event_id", 2),
        ("result", {"charged": 5}),
    ]


def test_failure_is_a_nested_object_with_stable_names():
    data = HistoryEvent(5, 0, OrchestrationFailed(FAILURE)).to_json()
    assert data["failure"] == {"error_type": "ValueError", "message": "bad value", "details": FAILURE.details}


def test_events_without_a_source_have_no_source_event_id():
    event = HistoryEvent(2, 0, ActivityScheduled("A"))
    assert event.source_event_id is None
    assert "source_event_id" not in event.to_json()


def test_completion_kinds_name_the_event_they_complete():
    for body in SAMPLES:
        has_source = "source_event_id" in {f.name for f in dataclasses.fields(body)}
        assert (HistoryEvent(1, 0, body).source_event_id is not None) == has_source


def test_kind_is_a_plain_string():
    kind = HistoryEvent(1, 0, TimerCreated(5)).kind
    assert type(kind) is str and kind == "TimerCreated"


def test_unknown_kind_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="unknown history event kind 'ActivityExploded'"):
        HistoryEvent.from_json({"event_id": 1, "kind": "ActivityExploded", "timestamp_ms": 0})


def test_missing_kind_is_a_value_error():
    with pytest.raises(ValueError, match="unknown history event kind None"):
        body_from_json({"event_id": 1})


def test_missing_required_field_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="ActivityCompleted event is missing its field 'source_event_id'"):
        HistoryEvent.from_json({"event_id": 3, "kind": "ActivityCompleted", "timestamp_ms": 0, "result": 1})


def test_missing_optional_fields_take_their_defaults():
    event = HistoryEvent.from_json({"event_id": 2, "kind": "ActivityScheduled", "name": "Charge"})
    assert event == HistoryEvent(2, 0, ActivityScheduled("Charge", None, 1))


def test_failure_without_message_or_details_reads_as_empty():
    event = HistoryEvent.from_json({"event_id": 2, "kind": "OrchestrationFailed", "failure": {"error_type": "X"}})
    assert event.body.failure == FailureDetails("X", "", "")


def test_unknown_extra_fields_are_ignored():
    event = HistoryEvent.from_json(
        {"event_id": 2, "kind": "TimerCreated", "fire_at_ms": 5, "note": "from a newer version"}
    )
    assert event.body == TimerCreated(5)


def test_events_are_immutable():
    event = HistoryEvent(1, 0, TimerCreated(5))
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.event_id = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.body.fire_at_ms = 6  # type: ignore[misc]


def test_scheduling_and_terminal_kinds_are_known_kinds():
    assert SCHEDULING_KINDS <= set(EVENT_TYPES)
    assert TERMINAL_KINDS <= set(EVENT_TYPES)
    assert not SCHEDULING_KINDS & TERMINAL_KINDS
    assert TERMINAL_KINDS == {
        "OrchestrationCompleted",
        "OrchestrationFailed",
        "OrchestrationCancelled",
        "ContinuedAsNew",
    }
