"""Follow histories as they grow: ``history tail`` and ``execute``'s live view."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InstanceNotFoundError
from ..history import HistoryEvent
from .timeline import event_name


@dataclass(frozen=True, slots=True)
class FollowedEvent:
    """A new event of a followed instance."""

    instance_id: str
    execution_id: int
    event: HistoryEvent
    depth: int
    """0 for the followed instance, 1 for its sub-orchestrations, ..."""
    name: str
    """The name the event is about (a completion's is that of the event it completes)."""
    label: str
    """The orchestration name of a sub-orchestration ("" for the followed instance)."""
    start_ms: int
    """When the followed instance's execution started (for relative times)."""


@dataclass(slots=True)
class _Cursor:
    execution_id: int
    depth: int
    label: str = ""
    shown: int = 0
    start_ms: int | None = None
    done: bool = False
    by_id: dict[int, HistoryEvent] = field(default_factory=dict)


@dataclass(slots=True)
class HistoryFollower:
    """Polls a store for new events of one instance (and, optionally, its sub-orchestrations).

    Follows the instance across continue-as-new; ``finished`` turns true once the instance has
    ended and every event of its last execution has been returned."""

    client: Any
    instance_id: str
    include_children: bool = False
    finished: bool = False
    _cursors: dict[str, _Cursor] = field(default_factory=dict)

    async def poll(self) -> list[FollowedEvent]:
        """The events recorded since the last poll, in order per instance."""
        new: list[FollowedEvent] = []
        if not self._cursors:
            state = await self.client.get_status(self.instance_id)
            if state is None:
                raise InstanceNotFoundError(self.instance_id)
            self._cursors[self.instance_id] = _Cursor(state.execution_id, 0)
        for instance_id in list(self._cursors):
            new.extend(await self._poll_one(instance_id))
        new.sort(key=lambda item: item.event.timestamp_ms)  # stable: each instance's order is kept
        self.finished = self._cursors[self.instance_id].done
        return new

    async def _poll_one(self, instance_id: str) -> list[FollowedEvent]:
        cursor = self._cursors[instance_id]
        if cursor.done:
            return []
        new: list[FollowedEvent] = []
        while True:
            state = await self.client.get_status(instance_id)
            if state is None:
                cursor.done = True
                return new
            events = await self.client.read_history(instance_id, cursor.execution_id)
            for event in events[cursor.shown :]:
                if cursor.start_ms is None:
                    cursor.start_ms = event.timestamp_ms
                cursor.by_id[event.event_id] = event
                name = event_name(event, cursor.by_id)
                new.append(
                    FollowedEvent(
                        instance_id=instance_id,
                        execution_id=cursor.execution_id,
                        event=event,
                        depth=cursor.depth,
                        name=name,
                        label=cursor.label,
                        start_ms=cursor.start_ms,
                    )
                )
                child = getattr(event.body, "instance_id", None)
                if self.include_children and event.kind == "SubOrchestrationScheduled" and child and child not in self._cursors:
                    self._cursors[child] = _Cursor(1, cursor.depth + 1, label=name)
            cursor.shown = len(events)
            if state.execution_id > cursor.execution_id and events and events[-1].kind == "ContinuedAsNew":
                cursor.execution_id, cursor.shown, cursor.start_ms = cursor.execution_id + 1, 0, None
                cursor.by_id = {}
                continue
            cursor.done = state.is_terminal and state.execution_id == cursor.execution_id
            return new
