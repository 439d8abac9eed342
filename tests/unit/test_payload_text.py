"""Strings the store must hold: a lone surrogate is refused where it enters, naming its path."""

from __future__ import annotations

import os

import pytest

from duroxide_cli import FailureDetails, HistoryEvent
from duroxide_cli.payloads import MAX_DEPTH, check_instance_id, normalize


def test_a_lone_surrogate_in_a_payload_is_a_type_error_naming_its_path():
    with pytest.raises(TypeError, match=r"input\['files'\]\[1\] holds a lone surrogate \(\\udcff at index 3\)"):
        normalize({"files": ["ok", os.fsdecode(b"bad\xff")]}, "input")


def test_a_lone_surrogate_in_a_key_is_refused_too():
    with pytest.raises(TypeError, match="a key of input holds a lone surrogate"):
        normalize({"\ud800": 1}, "input")


def test_text_beyond_ascii_passes_unchanged():
    assert normalize({"名前": "café 😀"}, "input") == {"名前": "café 😀"}


def test_an_instance_id_with_a_lone_surrogate_is_a_value_error():
    with pytest.raises(ValueError, match="instance id 'bad\\\\udcff' holds a lone surrogate"):
        check_instance_id(os.fsdecode(b"bad\xff"))


def test_nesting_past_the_limit_is_a_type_error_not_a_recursion_error():
    value: list = []
    for _ in range(MAX_DEPTH + 1):
        value = [value]
    with pytest.raises(TypeError, match=f"input nests lists and dicts more than {MAX_DEPTH} deep"):
        normalize(value, "input")


def test_a_failure_with_undecodable_bytes_keeps_them_as_escapes():
    try:
        open(os.fsdecode(b"/nonexistent/report-\xff.txt"))
    except OSError as error:
        failure = FailureDetails.from_exception(error)
    assert "report-\\udcff.txt" in failure.message
    assert failure.message.encode("utf-8") and failure.details.encode("utf-8")  # storable: no UnicodeEncodeError


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"event_id": 2, "kind": "ActivityScheduled", "name": ["a"]}, r'event 2 \(ActivityScheduled\): name must be a string, got \["a"\]'),
        ({"event_id": 3, "kind": "ActivityCompleted", "source_event_id": "two"}, r"event 3 \(ActivityCompleted\): source_event_id must be an integer"),
        ({"event_id": 2, "kind": "ActivityScheduled", "name": "a", "attempt": "x"}, r"attempt must be an integer"),
        ({"event_id": 2, "kind": "SubOrchestrationScheduled", "name": "a", "instance_id": "c", "version": 1}, r"version must be a string or null"),
        ({"event_id": 4, "kind": "OrchestrationFailed", "failure": "boom"}, r"event 4 \(OrchestrationFailed\): failure must be an object"),
        ({"event_id": True, "kind": "TimerCreated", "fire_at_ms": 1}, r"event true: event_id must be an integer"),
        ({"event_id": 1, "kind": "TimerCreated", "fire_at_ms": 1, "timestamp_ms": "now"}, r"timestamp_ms must be an integer"),
    ],
)
def test_history_event_from_json_names_the_event_and_the_field_of_the_wrong_type(event, message):
    with pytest.raises(ValueError, match=message):
        HistoryEvent.from_json(event)
