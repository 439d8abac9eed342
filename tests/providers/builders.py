"""Small builders for the provider conformance suite: messages, fetches and turns."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from duroxide_cli.history import (
    ActivityCompleted,
    EventBody,
    EventRaised,
    HistoryEvent,
    OrchestrationStarted,
)
from duroxide_cli.messages import Message
from duroxide_cli.providers.base import (
    ActivityCompletion,
    ActivityWork,
    InstanceUpdate,
    KnownHistory,
    NewActivity,
    OrchestrationWork,
    Provider,
    TurnCommit,
)

LONG_LOCK_MS = 30_000


def now_ms() -> int:
    return int(time.time() * 1000)


def start_message(
    instance_id: str,
    name: str = "Flow",
    version: str | None = "1.0.0",
    input: Any = None,
    parent_instance_id: str | None = None,
    execution_id: int = 1,
) -> Message:
    parent_execution = None if parent_instance_id is None else 1
    parent_event = None if parent_instance_id is None else 1
    body = OrchestrationStarted(name, version, input, parent_instance_id, parent_execution, parent_event)
    return Message(instance_id, body, execution_id)


def event_message(instance_id: str, name: str = "go", data: Any = None) -> Message:
    return Message(instance_id, EventRaised(name, data))


async def create(provider: Provider, instance_id: str, **fields: Any) -> None:
    await provider.create_instance(start_message(instance_id, **fields))


async def fetch_all(
    provider: Provider, lock_timeout_ms: int = LONG_LOCK_MS, known: dict[str, KnownHistory] | None = None
) -> dict[str, OrchestrationWork]:
    """Every fetchable instance's work, by instance id."""
    found = await provider.fetch_orchestration_work(100, lock_timeout_ms, "test", known or {})
    return {work.instance.instance_id: work for work in found}


async def fetch_one(
    provider: Provider, instance_id: str, lock_timeout_ms: int = LONG_LOCK_MS, known: dict[str, KnownHistory] | None = None
) -> OrchestrationWork:
    """The work of ``instance_id``, which must be the only fetchable instance (a fetch locks
    every instance it returns)."""
    found = await fetch_all(provider, lock_timeout_ms, known)
    assert list(found) == [instance_id], f"expected to fetch only {instance_id}, got {sorted(found)}"
    return found[instance_id]


def events(first_id: int, *bodies: EventBody) -> list[HistoryEvent]:
    return [HistoryEvent(first_id + offset, now_ms(), body) for offset, body in enumerate(bodies)]


def turn(
    work: OrchestrationWork,
    *bodies: EventBody,
    status: str = "Running",
    consumed: Sequence[int] | None = None,
    update: InstanceUpdate | None = None,
    **fields: Any,
) -> TurnCommit:
    """A turn for ``work`` appending ``bodies`` after what the store holds, consuming every
    fetched message unless ``consumed`` says otherwise."""
    next_id = work.history_after + len(work.history) + 1
    return TurnCommit(
        instance_id=work.instance.instance_id,
        lock_token=work.lock_token,
        execution_id=work.instance.execution_id,
        new_events=events(next_id, *bodies),
        consumed_message_ids=[m.message_id for m in work.messages] if consumed is None else list(consumed),
        instance=update or InstanceUpdate(status, work.instance.version or "1.0.0"),  # type: ignore[arg-type]
        **fields,
    )


def activity(event_id: int, name: str = "Charge", input: Any = None, execution_id: int = 1) -> NewActivity:
    return NewActivity(execution_id, event_id, name, input, 1, "Flow", "1.0.0")


def completion(work: ActivityWork, result: Any = "done", lock_token: str | None = None) -> ActivityCompletion:
    """The completion of ``work`` (with another token when ``lock_token`` is given)."""
    message = Message(work.instance_id, ActivityCompleted(work.activity.event_id, result), work.activity.execution_id)
    return ActivityCompletion(work.work_id, lock_token or work.lock_token, message)
