"""Facts about a history for display: names, payloads, which event completed which, pending work.

Pure data shaping for ``history show/tail/inspect`` and ``execute``; ``render`` draws it.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..history import TERMINAL_KINDS, FailureDetails, HistoryEvent

_PAYLOAD_FIELDS = ("input", "result", "output", "data", "value", "reason", "failure")


def event_name(event: HistoryEvent, by_id: Mapping[int, HistoryEvent] | None = None) -> str:
    """The activity, timer, event or orchestration name an event is about ("" if none); a
    completion takes the name of the event it completes when ``by_id`` holds that event."""
    body = event.body
    name = getattr(body, "name", None) or getattr(body, "op", None)
    if not name and by_id is not None and event.source_event_id is not None:
        source = by_id.get(event.source_event_id)
        if source is not None:
            return event_name(source)
    return str(name) if name else ""


def event_payload(event: HistoryEvent) -> dict[str, Any]:
    """The kind's own fields without the envelope and the name, as JSON values."""
    body = event.body
    out: dict[str, Any] = {}
    for field in dataclasses.fields(body):  # type: ignore[arg-type]
        if field.name in ("name", "op", "source_event_id"):
            continue
        value = getattr(body, field.name)
        if value is None and field.name not in _PAYLOAD_FIELDS:
            continue
        if field.name == "attempt" and value == 1:
            continue
        out[field.name] = value.to_json() if isinstance(value, FailureDetails) else value
    return out


def event_details(event: HistoryEvent) -> str:
    """One line: the payload as compact JSON (a failure as ``Type: message``)."""
    body = event.body
    failure = getattr(body, "failure", None)
    if isinstance(failure, FailureDetails):
        return f"{failure.error_type}: {failure.message}"
    payload = event_payload(event)
    return " ".join(f"{key}={compact(value)}" for key, value in payload.items())


def compact(value: Any) -> str:
    """Compact JSON text of a payload."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def pretty(value: Any) -> str:
    """Indented JSON text of a payload."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def completed_by(events: Sequence[HistoryEvent]) -> dict[int, int]:
    """Scheduling event id -> the id of the event that completed it."""
    return {e.source_event_id: e.event_id for e in events if e.source_event_id is not None}


def link_text(event: HistoryEvent, completions: dict[int, int]) -> str:
    """``completes #3`` for a completion, ``completed by #7`` for a scheduling event."""
    if event.source_event_id is not None:
        return f"completes #{event.source_event_id}"
    if event.event_id in completions:
        return f"completed by #{completions[event.event_id]}"
    return ""


def offset_text(event: HistoryEvent, start_ms: int) -> str:
    """Seconds since the execution started, e.g. ``+1.250s``."""
    return f"+{(event.timestamp_ms - start_ms) / 1000:.3f}s"


@dataclass(frozen=True, slots=True)
class PendingItem:
    """Work an unfinished execution still waits for, as far as its history shows."""

    kind: str
    """``activity``, ``timer``, ``event`` or ``sub-orchestration``."""
    event_id: int
    name: str
    since_ms: int
    fire_at_ms: int | None = None
    """For a timer: when it fires."""
    detail: str = ""


def pending_work(events: Sequence[HistoryEvent]) -> list[PendingItem]:
    """Scheduled work with no completion recorded: running activities, open timers, awaited
    events (subscriptions beyond the events of that name raised so far) and children.

    A race's loser also never completes; the list cannot tell it from live work."""
    if any(e.kind in TERMINAL_KINDS for e in events):
        return []
    done = completed_by(events)
    raised = Counter(getattr(e.body, "name", "") for e in events if e.kind == "EventRaised")
    subscribed: Counter[str] = Counter()
    items = []
    for event in events:
        kind, body = event.kind, event.body
        if kind == "EventSubscribed":
            name = getattr(body, "name", "")
            subscribed[name] += 1
            if subscribed[name] > raised[name]:
                items.append(PendingItem("event", event.event_id, name, event.timestamp_ms))
        elif event.event_id in done:
            continue
        elif kind == "ActivityScheduled":
            attempt = getattr(body, "attempt", 1)
            items.append(
                PendingItem("activity", event.event_id, event_name(event), event.timestamp_ms, detail=f"attempt {attempt}" if attempt > 1 else "")
            )
        elif kind == "TimerCreated":
            items.append(PendingItem("timer", event.event_id, "", event.timestamp_ms, fire_at_ms=getattr(body, "fire_at_ms", None)))
        elif kind == "SubOrchestrationScheduled":
            items.append(
                PendingItem("sub-orchestration", event.event_id, event_name(event), event.timestamp_ms, detail=getattr(body, "instance_id", ""))
            )
    return items


def export_document(instance_id: str, execution_id: int, events: Sequence[HistoryEvent]) -> dict[str, Any]:
    """The JSON document of ``history export`` (and ``history show --json``)."""
    return {"instance_id": instance_id, "execution_id": execution_id, "events": [e.to_json() for e in events]}
