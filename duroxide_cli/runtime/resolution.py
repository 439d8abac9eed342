"""Which code runs an instance: its start event and the registered orchestration it names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..history import OrchestrationStarted
from ..messages import Message
from ..model.registry import Registry


@dataclass(slots=True)
class Resolved:
    """Which code runs an instance, and its start event."""

    version: str
    fn: Callable
    started: OrchestrationStarted
    """The start, pinned to ``version`` when it named none."""


def resolve(registry: Registry, started: OrchestrationStarted | None, instance_version: str | None) -> Resolved | None:
    """The code for an execution that began with ``started`` (None: no start yet), in the version
    it names, else the instance row's; None when this process has not registered it."""
    if started is None:
        return None
    version = started.version or instance_version
    found = registry.get_orchestration(started.name, version)
    if found is None:
        return None
    return Resolved(found[0], found[1], pinned(started, found[0]))


def pin_version(message: Message, version: str) -> Message:
    """A start message that names no version, pinned to the resolved one; other messages as they are."""
    body = message.body
    if isinstance(body, OrchestrationStarted) and body.version is None:
        return Message(message.instance_id, pinned(body, version), message.execution_id)
    return message


def pinned(started: OrchestrationStarted, version: str) -> OrchestrationStarted:
    """``started`` with the version the runtime resolved, when it named none."""
    if started.version is not None:
        return started
    return OrchestrationStarted(
        started.name, version, started.input, started.parent_instance_id, started.parent_execution_id, started.parent_event_id
    )
