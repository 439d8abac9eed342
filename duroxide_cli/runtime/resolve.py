"""Which registered code runs an instance, and the version its start is pinned to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..history import HistoryEvent, OrchestrationStarted
from ..messages import Message
from ..model.registry import Registry
from ..providers.base import OrchestrationWork
from .codeless import start_of


@dataclass(slots=True)
class ResolvedCode:
    """Which code runs an instance, and its start event."""

    version: str
    fn: Callable
    started: OrchestrationStarted


def resolve_code(registry: Registry, work: OrchestrationWork, history: list[HistoryEvent]) -> ResolvedCode | None:
    """The registered orchestration for the instance's start (its version, else the instance's,
    else the latest); None when there is no start yet or no such code in this process."""
    started = start_of(work, history)
    if started is None:
        return None
    version = started.version or work.instance.version
    found = registry.get_orchestration(started.name, version)
    if found is None:
        return None
    return ResolvedCode(found[0], found[1], pinned(started, found[0]))


def pin_version(message: Message, version: str) -> Message:
    """``message`` with its start pinned to ``version`` when it is a start that named none."""
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
