"""What a turn decides: actions (imperatives for the runtime) and the turn's outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from ..history import CancelRequested, EventRaised, FailureDetails, HistoryEvent
from ..messages import Message


@dataclass(frozen=True, slots=True)
class ScheduleActivity:
    event_id: int
    name: str
    input: Any
    attempt: int


@dataclass(frozen=True, slots=True)
class StartTimer:
    event_id: int
    fire_at_ms: int


@dataclass(frozen=True, slots=True)
class StartSubOrchestration:
    event_id: int
    name: str
    instance_id: str
    input: Any
    version: str | None


@dataclass(frozen=True, slots=True)
class StartOrchestration:
    """Fire-and-forget: an independent instance."""

    name: str
    instance_id: str
    input: Any
    version: str | None


@dataclass(frozen=True, slots=True)
class CancelActivity:
    event_id: int


@dataclass(frozen=True, slots=True)
class CancelSubOrchestration:
    instance_id: str
    reason: str


Action = Union[ScheduleActivity, StartTimer, StartSubOrchestration, StartOrchestration, CancelActivity, CancelSubOrchestration]


@dataclass(frozen=True, slots=True)
class Continue:
    """The execution is still running."""


@dataclass(frozen=True, slots=True)
class Completed:
    output: Any


@dataclass(frozen=True, slots=True)
class Failed:
    failure: FailureDetails


@dataclass(frozen=True, slots=True)
class Cancelled:
    reason: str | None
    failure: FailureDetails | None = None
    """``OrchestrationCancelled`` (with the traceback where it left the code) or ``Terminated``."""


@dataclass(frozen=True, slots=True)
class ContinuedAsNew:
    input: Any
    version: str | None
    carried_events: tuple[EventRaised | CancelRequested, ...] = ()
    """Events raised but not delivered (and a cancel that came after the decision to continue);
    they go to the new execution, in order."""


Outcome = Union[Continue, Completed, Failed, Cancelled, ContinuedAsNew]


def outcome_name(outcome: Outcome) -> str:
    """``Running`` for an execution that goes on, else how it ended, named as ``history.ENDINGS`` names it."""
    return "Running" if isinstance(outcome, Continue) else type(outcome).__name__


@dataclass(frozen=True, slots=True)
class DroppedMessage:
    """A message the turn did not apply, and why."""

    message: Message
    reason: str
    warn: bool = True
    """False for the expected case of a race loser finishing late."""


@dataclass(slots=True)
class TurnResult:
    """The result of one turn: the history to append, the work to enqueue, the outcome."""

    new_events: list[HistoryEvent] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    outcome: Outcome = field(default_factory=Continue)
    custom_status: Any = None
    traces: list[tuple[str, str]] = field(default_factory=list)
    """(level, message) of the ``ctx.trace_*`` calls made outside replay."""
    dropped: list[DroppedMessage] = field(default_factory=list)
