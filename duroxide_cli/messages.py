"""Messages: what arrives at an instance between turns (starts, completions, events, cancels)."""

from __future__ import annotations

from .history import EventBody
from .records import frozen_dataclass


@frozen_dataclass
class Message:
    """One message for an instance; its body becomes a history event when the turn accepts it."""

    instance_id: str
    """The instance it is for."""
    body: EventBody
    """OrchestrationStarted, a completion, EventRaised or CancelRequested."""
    execution_id: int | None = None
    """The execution a start or completion belongs to. None for events and cancels (the current
    execution), except those a continue-as-new carries over: they name the new execution, which
    takes them before events raised while the continue-as-new was committed."""


@frozen_dataclass
class QueuedMessage:
    """A message as the store hands it out: with its id and how often it was fetched."""

    message_id: int
    message: Message
    delivery_count: int
