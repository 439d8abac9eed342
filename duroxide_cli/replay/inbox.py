"""External events: buffered in arrival order until a wait takes one, and the waits by name.

A wait never takes an event the moment it is created. The engine builds the whole task the code
yielded first (every wait of a race or ``all``), then hands out buffered events oldest first.
So a race between waits is won by the event that arrived first, on the live path and on replay
alike, and a wait that a race drops before its event is handed out never consumes one.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import TYPE_CHECKING

from ..history import EventRaised

if TYPE_CHECKING:
    from .nodes import EventWait


class EventInbox:
    """Raised events nobody has taken yet, and the event waits that are open."""

    __slots__ = ("_buffered", "_buffered_names", "_waiters")

    def __init__(self) -> None:
        self._buffered: list[EventRaised] = []
        """In arrival order, across names."""
        self._buffered_names: Counter[str] = Counter()
        self._waiters: dict[str, deque[EventWait]] = {}

    def subscribe(self, wait: EventWait) -> None:
        """Open ``wait``; it is settled by ``deliver`` or ``deliver_buffered``."""
        self._waiters.setdefault(wait.name, deque()).append(wait)

    def unsubscribe(self, wait: EventWait) -> None:
        waiters = self._waiters.get(wait.name)
        if waiters and wait in waiters:
            waiters.remove(wait)

    def deliver(self, event: EventRaised) -> None:
        """A new event: to the oldest open wait for its name, else into the buffer."""
        waiters = self._waiters.get(event.name)
        if waiters:
            waiters.popleft().settle(event.data)
        else:
            self._buffered.append(event)
            self._buffered_names[event.name] += 1

    def deliver_buffered(self) -> None:
        """Hand buffered events to open waits, the oldest event first."""
        if not any(self._waiters.get(name) for name in self._buffered_names):
            return
        remaining: list[EventRaised] = []
        for event in self._buffered:
            waiters = self._waiters.get(event.name)
            if waiters:
                self._buffered_names[event.name] -= 1
                waiters.popleft().settle(event.data)  # may settle a race, which closes its other waits
            else:
                remaining.append(event)
        self._buffered = remaining
        self._buffered_names = +self._buffered_names

    def close_waits(self) -> None:
        """The execution ended: no wait takes anything any more."""
        self._waiters.clear()

    def undelivered(self) -> tuple[EventRaised, ...]:
        """Buffered events in arrival order (they carry over to a continue-as-new)."""
        return tuple(self._buffered)
