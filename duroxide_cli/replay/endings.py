"""Ending an execution without running its code, and the notice a deleted child owes its parent.

The runtime ends an execution without user code when a message turned out to be poison, when a
cancel arrives for code no process has, and when the code did not yield in time. These are
history events all the same, so the engine's package builds them, numbered after the stored ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..history import (
    CancelRequested,
    EventBody,
    FailureDetails,
    HistoryEvent,
    OrchestrationCancelled,
    OrchestrationFailed,
    OrchestrationStarted,
    SubOrchestrationFailed,
)
from ..messages import Message
from .actions import Cancelled, Failed, TurnResult

TURN_TIMEOUT_ERROR = "TurnTimeoutError"
"""The failure of an execution whose code did not yield within the turn timeout."""

POISON_MESSAGE_ERROR = "PoisonMessageError"
"""The failure of an execution whose message kept failing to be processed."""

IMPOSED_FAILURES = frozenset({TURN_TIMEOUT_ERROR, POISON_MESSAGE_ERROR})
"""Failures the runtime records without the code reaching them: a replay of such a history finds
the code still waiting where the runtime ended it, which is consistent."""


def cancelled_by(request: CancelRequested) -> Cancelled:
    """The outcome a cancel request ends an execution with when no user code runs: a terminate's
    ``Terminated`` failure, else a plain cancel."""
    if request.terminate:
        return Cancelled(request.reason, FailureDetails("Terminated", request.reason or "terminated"))
    return Cancelled(request.reason)


def end_without_code(
    recorded_count: int, started: OrchestrationStarted | None, outcome: Failed | Cancelled, now_ms: int, custom_status: Any
) -> TurnResult:
    """The turn that ends the execution with ``outcome``: its ending events follow the
    ``recorded_count`` stored ones; when none are stored yet they follow the start, so that no
    history lacks its OrchestrationStarted."""
    endings: list[EventBody]
    if isinstance(outcome, Failed):
        endings = [OrchestrationFailed(outcome.failure)]
    else:
        terminate = outcome.failure is not None and outcome.failure.error_type == "Terminated"
        endings = [CancelRequested(outcome.reason, terminate), OrchestrationCancelled(outcome.reason, outcome.failure)]
    events = [] if recorded_count or started is None else [HistoryEvent(1, now_ms, started)]
    for body in endings:
        events.append(HistoryEvent(recorded_count + len(events) + 1, now_ms, body))
    return TurnResult(new_events=events, outcome=outcome, custom_status=custom_status)


def deletion_notice(instance_id: str, history: Sequence[HistoryEvent]) -> Message | None:
    """The failure a parent receives when its running sub-orchestration ``instance_id`` (with
    ``history``) is deleted, so that its yield fails instead of waiting forever; None for an
    instance without a parent."""
    started = history[0].body if history else None
    if not isinstance(started, OrchestrationStarted) or started.parent_instance_id is None:
        return None
    failure = FailureDetails("InstanceDeleted", f"sub-orchestration '{instance_id}' was deleted while it ran")
    return Message(
        started.parent_instance_id, SubOrchestrationFailed(started.parent_event_id or 0, failure), started.parent_execution_id
    )
