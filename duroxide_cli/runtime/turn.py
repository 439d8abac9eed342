"""From a turn's result to what the store commits: actions become work, messages and starts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..history import (
    CancelRequested,
    FailureDetails,
    OrchestrationStarted,
    SubOrchestrationCompleted,
    SubOrchestrationFailed,
    TimerFired,
)
from ..messages import Message
from ..providers.base import (
    TERMINAL_STATUSES,
    ActivityLease,
    HeldWork,
    InstanceStart,
    InstanceUpdate,
    NewActivity,
    OutgoingMessage,
    TakeLock,
    TurnCommit,
)
from ..replay.actions import (
    CancelActivity,
    Cancelled,
    CancelSubOrchestration,
    Completed,
    Continue,
    ContinuedAsNew,
    Failed,
    ScheduleActivity,
    StartOrchestration,
    StartSubOrchestration,
    StartTimer,
    TurnResult,
)


def error_line(failure: FailureDetails) -> str:
    """The one-line ``error`` shown by ``status``."""
    first = (failure.message or "").strip().splitlines()
    return f"{failure.error_type}: {first[0] if first else ''}".rstrip(": ")


def build_commit(
    *,
    instance_id: str,
    lock_token: str,
    execution_id: int,
    started: OrchestrationStarted,
    result: TurnResult,
    consumed: Sequence[int],
    latest_version: Callable[[str], str | None],
    lease: Callable[[int], ActivityLease | None] | None = None,
    completed_work: Sequence[HeldWork] = (),
    take_lock: TakeLock | None = None,
) -> TurnCommit:
    """Translate ``result`` into one atomic TurnCommit for the store. ``lease``, when given, is
    asked for the lease of the activities the turn schedules (their count) once the commit is
    known to leave the execution running; ``completed_work`` and ``take_lock`` go into the commit
    as they are (the fields are filled here rather than replaced afterwards: one commit a turn)."""
    name, version = started.name, started.version
    activities: list[NewActivity] = []
    messages: list[OutgoingMessage] = []
    starts: list[InstanceStart] = []
    cancels: list[int] = []
    for action in result.actions:
        if isinstance(action, ScheduleActivity):
            activities.append(
                NewActivity(execution_id, action.event_id, action.name, action.input, action.attempt, name, version or "")
            )
        elif isinstance(action, StartTimer):
            fired = Message(instance_id, TimerFired(action.event_id, action.fire_at_ms), execution_id)
            messages.append(OutgoingMessage(fired, action.fire_at_ms))
        elif isinstance(action, StartSubOrchestration):
            child = OrchestrationStarted(action.name, action.version, action.input, instance_id, execution_id, action.event_id)
            refused = FailureDetails(
                "InstanceAlreadyExistsError",
                f"instance '{action.instance_id}' already exists, so the sub-orchestration could not start; use another id",
            )
            starts.append(
                InstanceStart(
                    Message(action.instance_id, child, 1),
                    Message(instance_id, SubOrchestrationFailed(action.event_id, refused), execution_id),
                )
            )
        elif isinstance(action, StartOrchestration):
            body = OrchestrationStarted(action.name, action.version, action.input)
            starts.append(InstanceStart(Message(action.instance_id, body, 1), None))
        elif isinstance(action, CancelActivity):
            cancels.append(action.event_id)
        elif isinstance(action, CancelSubOrchestration):
            messages.append(OutgoingMessage(Message(action.instance_id, CancelRequested(action.reason))))
        else:
            raise TypeError(f"unknown action {type(action).__name__}")

    outcome = result.outcome
    status: Any = "Running"
    output = error = failure = None
    next_execution = None
    parent_body: Any = None
    if isinstance(outcome, Completed):
        status, output = "Completed", outcome.output
        parent_body = SubOrchestrationCompleted(started.parent_event_id or 0, outcome.output)
    elif isinstance(outcome, Failed):
        status, failure, error = "Failed", outcome.failure, error_line(outcome.failure)
        parent_body = SubOrchestrationFailed(started.parent_event_id or 0, outcome.failure)
    elif isinstance(outcome, Cancelled):
        status, error = "Cancelled", outcome.reason or "cancelled"
        failure = outcome.failure or FailureDetails("OrchestrationCancelled", error)
        parent_body = SubOrchestrationFailed(started.parent_event_id or 0, failure)
    elif isinstance(outcome, ContinuedAsNew):
        next_execution = execution_id + 1
        fresh = OrchestrationStarted(
            name,
            outcome.version or latest_version(name) or version,
            outcome.input,
            started.parent_instance_id,
            started.parent_execution_id,
            started.parent_event_id,
        )
        messages.append(OutgoingMessage(Message(instance_id, fresh, next_execution)))
        # addressed to the new execution, so that it takes them before events raised meanwhile
        messages.extend(OutgoingMessage(Message(instance_id, body, next_execution)) for body in outcome.carried_events)
    else:
        assert isinstance(outcome, Continue)
    if parent_body is not None and started.parent_instance_id is not None:
        messages.append(OutgoingMessage(Message(started.parent_instance_id, parent_body, started.parent_execution_id)))
    ends = next_execution is not None or status in TERMINAL_STATUSES
    lease_activities = None if lease is None or ends else lease(len(activities))

    return TurnCommit(
        instance_id=instance_id,
        lock_token=lock_token,
        execution_id=execution_id,
        new_events=list(result.new_events),
        consumed_message_ids=list(consumed),
        instance=InstanceUpdate(status, version, output, error, failure, result.custom_status),
        activities=activities,
        messages=messages,
        starts=starts,
        cancel_activities=cancels,
        next_execution_id=next_execution,
        lease_activities=lease_activities,
        completed_work=completed_work,
        take_lock=take_lock,
    )
