"""Resetting an execution, or forking it into a new instance, from one of its events.

The new execution's history is events 1..N of the old one, unchanged, then the
``ExecutionReset`` marker (event N+1); the same marker, sent as a message, wakes the instance.
In the new execution's first turn the engine replays the copied events and lets the code --
fixed, usually -- go on past them. Activities and timers scheduled at or before N and not finished by then are
scheduled again in that turn; events raised after N are delivered again, in their order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..history import (
    COMPLETES,
    TERMINAL_KINDS,
    EventRaised,
    ExecutionReset,
    HistoryEvent,
    OrchestrationStarted,
    SubOrchestrationScheduled,
)
from ..messages import Message


@dataclass(frozen=True, slots=True)
class Restart:
    """What a store writes to begin the new execution."""

    history: list[HistoryEvent]
    """The copied events 1..N and the ``ExecutionReset`` marker."""
    messages: list[Message]
    """The marker again (it wakes the instance), then the events raised after N, addressed to the new execution."""


def reset_point(events: Sequence[HistoryEvent], diverged_after: int | None = None) -> int:
    """The event a plain ``duroxide reset`` goes back to: the last one before the first divergence
    of the current code (``diverged_after``, when the caller replayed the history), else the last
    one before the failing turn's events (a failed execution), before the ending (any other ended
    one), or the last event (a running one)."""
    if diverged_after is not None:
        return max(diverged_after, 1)
    if not events:
        raise ValueError("the execution has no history to reset")
    last = events[-1]
    if last.kind == "OrchestrationFailed":
        turn = [e for e in events if e.timestamp_ms == last.timestamp_ms]  # a turn's events share its time
        return max(turn[0].event_id - 1, 1)
    if last.kind in TERMINAL_KINDS:
        return max(last.event_id - 1, 1)
    return last.event_id


def plan_restart(
    events: Sequence[HistoryEvent],
    event_id: int,
    *,
    instance_id: str,
    from_execution_id: int,
    execution_id: int,
    reason: str | None,
    now_ms: int,
    fork: bool = False,
) -> Restart:
    """The history and messages of execution ``execution_id`` of ``instance_id``, continuing
    ``events`` (execution ``from_execution_id``) after ``event_id``. A fork is a new top-level
    instance: its start names no parent, and it cannot begin while a sub-orchestration of the
    copied history is still running (that child reports to the original).

    Raises ValueError for an event id outside the history, or a fork point inside a running child."""
    last = events[-1].event_id if events else 0
    if isinstance(event_id, bool) or not isinstance(event_id, int) or not 1 <= event_id <= last:
        raise ValueError(f"event {event_id!r} is not in the history: choose an event from 1 to {last}")
    copied = [e for e in events if e.event_id <= event_id]
    if fork:
        _check_no_running_child(copied)
        copied[0] = _detached(copied[0])
    marker = ExecutionReset(from_execution_id, event_id, reason)
    again = [Message(instance_id, e.body, execution_id) for e in events if e.event_id > event_id and isinstance(e.body, EventRaised)]
    return Restart([*copied, HistoryEvent(event_id + 1, now_ms, marker)], [Message(instance_id, marker, execution_id), *again])


def _check_no_running_child(copied: list[HistoryEvent]) -> None:
    finished = {e.source_event_id for e in copied if COMPLETES.get(e.kind) == "SubOrchestrationScheduled"}
    for event in copied:
        if isinstance(event.body, SubOrchestrationScheduled) and event.event_id not in finished:
            raise ValueError(
                f"sub-orchestration '{event.body.instance_id}' (event {event.event_id}) has not finished by that event, "
                "and a fork cannot wait for it: fork from an event before it or after its result"
            )


def _detached(event: HistoryEvent) -> HistoryEvent:
    started = event.body
    if not isinstance(started, OrchestrationStarted):
        raise ValueError("the history does not start with an OrchestrationStarted event")
    return HistoryEvent(event.event_id, event.timestamp_ms, OrchestrationStarted(started.name, started.version, started.input))
