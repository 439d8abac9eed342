"""Which new messages a turn records and applies, in which order, and which it drops."""

from __future__ import annotations

from collections.abc import Sequence

from ..history import CancelRequested, EventBody, EventRaised, ExecutionReset, OrchestrationStarted
from ..messages import Message
from .actions import Continue, ContinuedAsNew, DroppedMessage, Outcome
from .scheduler import TaskScheduler


def first_turn_order(messages: Sequence[Message], execution_id: int) -> list[Message]:
    """A new execution takes its start first, then the events carried over from the previous
    execution (addressed to this one), then everything else in arrival order: an event raised
    while the previous execution committed its continue-as-new is younger than those it carried."""

    def rank(message: Message) -> int:
        if isinstance(message.body, OrchestrationStarted):
            return 0
        return 1 if message.execution_id == execution_id else 2

    return sorted(messages, key=rank)


def accept(
    message: Message, outcome: Outcome, started: bool, scheduler: TaskScheduler
) -> tuple[EventBody | None, Outcome, DroppedMessage | None]:
    """(the body to record and apply or None, the outcome, why the message was dropped or None).

    After a continue-as-new, events and cancels go on to the next execution (the outcome then
    carries them); other messages for an ended execution are dropped, quietly when they are the
    late results of work it gave up.
    """
    body = message.body
    if not isinstance(outcome, Continue):
        if isinstance(body, (EventRaised, CancelRequested)) and isinstance(outcome, ContinuedAsNew):
            carried = ContinuedAsNew(outcome.input, outcome.version, outcome.carried_events + (body,))
            return None, carried, None
        reason = f"the execution has already ended ({type(outcome).__name__})"
        return None, outcome, DroppedMessage(message, reason, not scheduler.was_given_up(message))
    if isinstance(body, ExecutionReset):  # its marker is recorded already: the message only woke the instance
        return None, outcome, DroppedMessage(message, "the wake-up of a reset", warn=False)
    if isinstance(body, OrchestrationStarted):
        if started or message.execution_id not in (None, scheduler.execution_id):
            return None, outcome, DroppedMessage(message, "a duplicate start message")
        return body, outcome, None
    if isinstance(body, (EventRaised, CancelRequested)):
        return body, outcome, None
    problem = scheduler.screen(message)
    if problem is not None:
        return None, outcome, DroppedMessage(message, *problem)
    return body, outcome, None
