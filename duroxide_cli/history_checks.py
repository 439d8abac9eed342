"""Checks for histories that come from outside the store: a ``history export`` file edited by
hand, or written by another tool, before ``replay --file`` trusts it.

Each check raises ``ValueError`` with a message that names the event and the field.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .history import EVENT_TYPES

if TYPE_CHECKING:
    from .history import HistoryEvent

_EXPECTED = {"str": "a string", "int": "an integer", "bool": "true or false"}


def check_event_json(data: Any) -> None:
    """That ``data`` is an event's flat JSON object whose known fields have the right types."""
    if not isinstance(data, Mapping):
        raise ValueError(f"an event must be a JSON object, got {_shown(data)}")
    event_id = data.get("event_id")
    where = f"event {_shown(event_id)}"
    if not isinstance(event_id, int) or isinstance(event_id, bool) or event_id < 1:
        raise ValueError(f"{where}: event_id must be an integer of at least 1")
    kind = data.get("kind")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"{where}: unknown history event kind {kind!r}")
    where = f"event {event_id} ({kind})"
    _check_value(where, "timestamp_ms", data.get("timestamp_ms", 0), "int")
    for field in dataclasses.fields(cls):
        if field.name not in data:
            continue  # a missing field is reported when the event is built
        value = data[field.name]
        if field.name == "failure":
            _check_failure(where, value, optional="None" in str(field.type))
        else:
            _check_value(where, field.name, value, str(field.type))


def check_sequence(events: Sequence[HistoryEvent]) -> None:
    """That no two events share an id and no scheduled work is completed twice."""
    seen: set[int] = set()
    completed: dict[int, int] = {}
    for event in events:
        if event.event_id in seen:
            raise ValueError(f"event {event.event_id} ({event.kind}): a second event with id {event.event_id}")
        seen.add(event.event_id)
        source = event.source_event_id
        if source is None:
            continue
        if source in completed:
            raise ValueError(
                f"event {event.event_id} ({event.kind}): completes event {source}, which event {completed[source]} already completed"
            )
        completed[source] = event.event_id


def _check_failure(where: str, value: Any, *, optional: bool) -> None:
    if value is None and optional:
        return
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: failure must be an object with error_type, message and details, got {_shown(value)}")
    _check_value(where, "failure.error_type", value.get("error_type"), "str")
    for key in ("message", "details"):
        if key in value:
            _check_value(where, f"failure.{key}", value[key], "str")


def _check_value(where: str, name: str, value: Any, annotation: str) -> None:
    allowed = [part.strip() for part in annotation.split("|")]
    if "Any" in allowed or (value is None and "None" in allowed):
        return
    for part in allowed:
        if part == "int" and _is_int(value) or part == "str" and isinstance(value, str) or part == "bool" and isinstance(value, bool):
            return
    expected = " or ".join(_EXPECTED.get(part, part) for part in allowed if part != "None")
    if "None" in allowed:
        expected += " or null"
    raise ValueError(f"{where}: {name} must be {expected}, got {_shown(value)}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True, default=repr)
    return text if len(text) <= 60 else text[:57] + "..."
