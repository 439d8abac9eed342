"""The matching rules of replay, and how recorded events and yielded values are named in errors."""

from __future__ import annotations

from typing import Any

from ..history import (
    ActivityScheduled,
    EventBody,
    EventSubscribed,
    HistoryEvent,
    OrchestrationChained,
    SubOrchestrationScheduled,
    SystemCall,
    TimerCreated,
)
from ..model.tasks import payload_text, short_repr


def same_action(recorded: EventBody, new: EventBody) -> bool:
    """Whether the code's new scheduling event matches the recorded one (DESIGN section 3): an
    activity by name and input (and attempt), a timer by kind, an event wait by name, a
    sub-orchestration by name and input, a fire-and-forget start by name, id and input, a
    system call by its op."""
    if type(recorded) is not type(new):
        return False
    if isinstance(new, ActivityScheduled):
        return recorded.name == new.name and recorded.input == new.input and recorded.attempt == new.attempt  # type: ignore[union-attr]
    if isinstance(new, TimerCreated):
        return True
    if isinstance(new, EventSubscribed):
        return recorded.name == new.name  # type: ignore[union-attr]
    if isinstance(new, SubOrchestrationScheduled):
        return recorded.name == new.name and recorded.input == new.input  # type: ignore[union-attr]
    if isinstance(new, OrchestrationChained):
        return (recorded.name, recorded.instance_id, recorded.input) == (new.name, new.instance_id, new.input)  # type: ignore[union-attr]
    if isinstance(new, SystemCall):
        return recorded.op == new.op  # type: ignore[union-attr]
    return False


def describe_event(event: HistoryEvent) -> str:
    """A recorded event as errors name it, e.g. ``ActivityScheduled 'Charge' with input 5 (event 3)``."""
    body = event.body
    name = getattr(body, "name", None) or getattr(body, "op", None)
    detail = f" '{name}'" if name else ""
    if isinstance(body, ActivityScheduled):
        detail += f" with input {payload_text(body.input)}"
    return f"{event.kind}{detail} (event {event.event_id})"


def describe_value(value: Any) -> str:
    """Something yielded that is not a task, as errors name it."""
    if hasattr(value, "__await__"):
        return f"a coroutine ({type(value).__name__}); orchestrations cannot await"
    return f"{type(value).__name__} {short_repr(value)}"
