"""The history checker: walks every history of a store and lists what breaks the guarantees.

Exactly-once history means, for every execution of every instance: event ids run 1, 2, ...
without a gap or a repeat; the first event is ``OrchestrationStarted``; every completion names
one scheduling event of the same execution, of the matching kind, recorded before it; no
scheduling event is completed twice; and a terminal event, if any, is the last one. It reads
through the Provider protocol only, so it checks any store.
"""

from __future__ import annotations

from collections.abc import Collection

from duroxide_cli.history import HistoryEvent
from duroxide_cli.providers.base import Provider

SCHEDULED_BY = {
    "ActivityCompleted": "ActivityScheduled",
    "ActivityFailed": "ActivityScheduled",
    "TimerFired": "TimerCreated",
    "SubOrchestrationCompleted": "SubOrchestrationScheduled",
    "SubOrchestrationFailed": "SubOrchestrationScheduled",
}
"""Each completion kind, and the kind of event that schedules it."""

TERMINAL = frozenset({"OrchestrationCompleted", "OrchestrationFailed", "OrchestrationCancelled", "ContinuedAsNew"})


def check_history(instance_id: str, execution_id: int, events: list[HistoryEvent]) -> list[str]:
    """What is wrong with one execution's history (empty: nothing)."""
    where = f"{instance_id} execution {execution_id}"
    problems: list[str] = []
    ids = [event.event_id for event in events]
    if ids != list(range(1, len(events) + 1)):
        problems.append(f"{where}: event ids are not 1..{len(events)}: {ids}")
    if not events or events[0].kind != "OrchestrationStarted":
        problems.append(f"{where}: does not begin with OrchestrationStarted")
    kinds = {event.event_id: event.kind for event in events}
    completed: dict[int, int] = {}
    for event in events:
        expected = SCHEDULED_BY.get(event.kind)
        if expected is not None:
            source = event.source_event_id
            if source is None or kinds.get(source) != expected or source >= event.event_id:
                problems.append(f"{where}: event {event.event_id} ({event.kind}) completes {source}, not an earlier {expected}")
            elif source in completed:
                problems.append(f"{where}: event {source} is completed twice (events {completed[source]} and {event.event_id})")
            else:
                completed[source] = event.event_id
        if event.kind in TERMINAL and event is not events[-1]:
            problems.append(f"{where}: terminal event {event.event_id} ({event.kind}) is not the last")
    return problems


async def check_store(provider: Provider, *, skip: Collection[str] = ()) -> list[str]:
    """Check every execution of every instance in the store, except the instances in ``skip``."""
    problems: list[str] = []
    for record in await provider.list_instances(limit=1_000_000):
        if record.instance_id in skip:
            continue
        for execution in await provider.list_executions(record.instance_id):
            events = await provider.read_history(record.instance_id, execution.execution_id)
            problems += check_history(record.instance_id, execution.execution_id, events)
        if record.status in ("Completed", "Failed", "Cancelled"):
            last = await provider.read_history(record.instance_id)
            if not last or last[-1].kind not in TERMINAL:
                problems.append(f"{record.instance_id}: {record.status}, but its history does not end with a terminal event")
    return problems


async def assert_histories_exact(provider: Provider, *, skip: Collection[str] = ()) -> None:
    problems = await check_store(provider, skip=skip)
    assert not problems, "the history checker found:\n" + "\n".join(problems[:50])
