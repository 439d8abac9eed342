"""The history of one execution as the engine holds it.

The journal is the one place history events are numbered and built: recorded events are added
as they were stored, new ones are numbered after them and stamped with the turn's time.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..history import EventBody, HistoryEvent


class Journal:
    """The events of one execution, recorded and new, and the engine's clock while it replays."""

    __slots__ = ("events", "now_ms", "replaying", "turn_now_ms", "_new")

    def __init__(self) -> None:
        self.events: list[HistoryEvent] = []
        self.now_ms = 0
        """The time the code sees: a recorded event's time while replaying, else the turn's."""
        self.replaying = True
        self.turn_now_ms = 0
        self._new: list[HistoryEvent] = []

    def begin_turn(self, new_events: list[HistoryEvent], recorded: Sequence[HistoryEvent], now_ms: int) -> None:
        """Start a turn at ``now_ms``: ``recorded`` are stored events after those already held;
        new events go to ``new_events``."""
        self._new = new_events
        self.replaying = True
        self.turn_now_ms = now_ms
        self.events.extend(recorded)

    def go_live(self) -> None:
        """Stop replaying: what follows is new, at the turn's time."""
        self.replaying = False
        self.now_ms = self.turn_now_ms

    def append(self, body: EventBody) -> HistoryEvent:
        """Record ``body`` as the next event of the execution."""
        event = HistoryEvent(len(self.events) + 1, self.now_ms, body)
        self.events.append(event)
        self._new.append(event)
        return event

    def event(self, event_id: int) -> HistoryEvent:
        return self.events[event_id - 1]

    def __len__(self) -> int:
        return len(self.events)
