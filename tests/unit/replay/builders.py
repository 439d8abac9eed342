"""Small builders for histories and messages, so a test reads like the story it tells.

``HistoryBuilder`` hands out sequential event ids; each method returns the ``HistoryEvent`` it
appended, so a completion can name the event it completes::

    h = HistoryBuilder()
    h.started("Order", {"id": 1})
    charge = h.activity_scheduled("Charge", {"id": 1})
    h.activity_completed(charge, {"charged": 5})

The message helpers build what arrives at an instance between turns.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from duroxide_cli.history import (
    ActivityCompleted,
    ActivityFailed,
    ActivityScheduled,
    CancelRequested,
    ContinuedAsNew,
    CustomStatusSet,
    EventBody,
    EventRaised,
    EventSubscribed,
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
)
from duroxide_cli.messages import Message

INSTANCE_ID = "inst-1"
START_MS = 1_000


def _id(source: HistoryEvent | int) -> int:
    return source.event_id if isinstance(source, HistoryEvent) else source


class HistoryBuilder:
    """Appends events with ids 1, 2, ...; ``at(ms)`` sets the timestamp of the following ones."""

    def __init__(self, now_ms: int = START_MS) -> None:
        self.events: list[HistoryEvent] = []
        self.now_ms = now_ms

    def at(self, now_ms: int) -> HistoryBuilder:
        self.now_ms = now_ms
        return self

    def add(self, body: EventBody) -> HistoryEvent:
        event = HistoryEvent(len(self.events) + 1, self.now_ms, body)
        self.events.append(event)
        return event

    # -- the start and the endings ----------------------------------------------------------
    def started(self, name: str = "Test", input: Any = None, version: str = "1.0.0", **parent: Any) -> HistoryEvent:
        return self.add(OrchestrationStarted(name, version, input, **parent))

    def orchestration_completed(self, output: Any = None) -> HistoryEvent:
        return self.add(OrchestrationCompleted(output))

    def orchestration_failed(
        self, error_type: str = "ValueError", message: str = "boom", details: str = ""
    ) -> HistoryEvent:
        return self.add(OrchestrationFailed(FailureDetails(error_type, message, details)))

    def orchestration_cancelled(self, reason: str | None = None) -> HistoryEvent:
        return self.add(OrchestrationCancelled(reason))

    def continued_as_new(self, input: Any = None, version: str | None = None) -> HistoryEvent:
        return self.add(ContinuedAsNew(input, version))

    # -- scheduling events (the code produces these) -----------------------------------------
    def activity_scheduled(self, name: str, input: Any = None, attempt: int = 1) -> HistoryEvent:
        return self.add(ActivityScheduled(name, input, attempt))

    def timer_created(self, fire_at_ms: int) -> HistoryEvent:
        return self.add(TimerCreated(fire_at_ms))

    def event_subscribed(self, name: str) -> HistoryEvent:
        return self.add(EventSubscribed(name))

    def sub_orchestration_scheduled(
        self, name: str, instance_id: str, input: Any = None, version: str | None = None
    ) -> HistoryEvent:
        return self.add(SubOrchestrationScheduled(name, instance_id, input, version))

    def orchestration_chained(
        self, name: str, instance_id: str, input: Any = None, version: str | None = None
    ) -> HistoryEvent:
        return self.add(OrchestrationChained(name, instance_id, input, version))

    def system_call(self, op: str, value: Any) -> HistoryEvent:
        return self.add(SystemCall(op, value))

    def custom_status_set(self, value: Any) -> HistoryEvent:
        return self.add(CustomStatusSet(value))

    # -- what arrives from outside -------------------------------------------------------------
    def activity_completed(self, source: HistoryEvent | int, result: Any = None) -> HistoryEvent:
        return self.add(ActivityCompleted(_id(source), result))

    def activity_failed(
        self, source: HistoryEvent | int, error_type: str = "ValueError", message: str = "boom", details: str = ""
    ) -> HistoryEvent:
        return self.add(ActivityFailed(_id(source), FailureDetails(error_type, message, details)))

    def timer_fired(self, source: HistoryEvent) -> HistoryEvent:
        assert isinstance(source.body, TimerCreated)
        return self.add(TimerFired(source.event_id, source.body.fire_at_ms))

    def event_raised(self, name: str, data: Any = None) -> HistoryEvent:
        return self.add(EventRaised(name, data))

    def sub_orchestration_completed(self, source: HistoryEvent | int, output: Any = None) -> HistoryEvent:
        return self.add(SubOrchestrationCompleted(_id(source), output))

    def sub_orchestration_failed(
        self, source: HistoryEvent | int, error_type: str = "ValueError", message: str = "boom", details: str = ""
    ) -> HistoryEvent:
        return self.add(SubOrchestrationFailed(_id(source), FailureDetails(error_type, message, details)))

    def cancel_requested(self, reason: str | None = None) -> HistoryEvent:
        return self.add(CancelRequested(reason))


# -- messages ------------------------------------------------------------------------------------
def start_message(
    name: str = "Test",
    input: Any = None,
    version: str = "1.0.0",
    *,
    execution_id: int = 1,
    instance_id: str = INSTANCE_ID,
    **parent: Any,
) -> Message:
    return Message(instance_id, OrchestrationStarted(name, version, input, **parent), execution_id)


def activity_done(source: HistoryEvent | int, result: Any = None, *, execution_id: int | None = 1) -> Message:
    return Message(INSTANCE_ID, ActivityCompleted(_id(source), result), execution_id)


def activity_error(
    source: HistoryEvent | int,
    error_type: str = "ValueError",
    message: str = "boom",
    details: str = "",
    *,
    execution_id: int | None = 1,
) -> Message:
    return Message(INSTANCE_ID, ActivityFailed(_id(source), FailureDetails(error_type, message, details)), execution_id)


def timer_fired(source: HistoryEvent, *, execution_id: int | None = 1) -> Message:
    assert isinstance(source.body, TimerCreated), f"event {source.event_id} is a {source.kind}, not a timer"
    return Message(INSTANCE_ID, TimerFired(source.event_id, source.body.fire_at_ms), execution_id)


def child_done(source: HistoryEvent | int, output: Any = None, *, execution_id: int | None = 1) -> Message:
    return Message(INSTANCE_ID, SubOrchestrationCompleted(_id(source), output), execution_id)


def child_error(
    source: HistoryEvent | int,
    error_type: str = "ValueError",
    message: str = "boom",
    details: str = "",
    *,
    execution_id: int | None = 1,
) -> Message:
    return Message(
        INSTANCE_ID, SubOrchestrationFailed(_id(source), FailureDetails(error_type, message, details)), execution_id
    )


def raised(name: str, data: Any = None) -> Message:
    return Message(INSTANCE_ID, EventRaised(name, data))


def cancel(reason: str | None = None) -> Message:
    return Message(INSTANCE_ID, CancelRequested(reason))


class GuidSource:
    """Deterministic GUIDs: ``prefix-1``, ``prefix-2``, ..."""

    def __init__(self, prefix: str = "guid") -> None:
        self.prefix = prefix
        self.count = 0

    def __call__(self) -> str:
        self.count += 1
        return f"{self.prefix}-{self.count}"


# -- golden files --------------------------------------------------------------------------------
GOLDEN = Path(__file__).parent / "golden"


def load_golden(name: str) -> tuple[str, int, list[HistoryEvent]]:
    """(instance_id, execution_id, events) of ``golden/<name>.json`` (the ``history export`` shape)."""
    data = json.loads((GOLDEN / f"{name}.json").read_text())
    return data["instance_id"], data["execution_id"], [HistoryEvent.from_json(e) for e in data["events"]]


def export(instance_id: str, execution_id: int, events: list[HistoryEvent]) -> str:
    """The ``history export`` document for these events."""
    document = {"instance_id": instance_id, "execution_id": execution_id, "events": [e.to_json() for e in events]}
    return json.dumps(document, indent=2) + "\n"
