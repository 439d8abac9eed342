"""Waking idle dispatchers, and skipping idle polls that cannot find anything.

Two halves, kept apart by thread:

* ``Wake`` is filled by a transaction on the database thread (what it made fetchable now, and
  the earliest moment something becomes fetchable later) and applied on the event loop to the
  per-queue ``QueueSignal`` that ``wait_for_work`` awaits.
* ``PollState`` lives on the database thread. After a fetch found nothing it remembers the
  database's ``PRAGMA data_version`` (which moves when another connection commits), this
  connection's write count, and when the next message, lock or back-off comes due. Until one
  of those changes, the next fetch cannot find anything and is answered without a query.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

QUEUES = ("orchestrator", "worker")


@dataclass(slots=True)
class Wake:
    """What one transaction means for the waiting dispatchers of this process."""

    now: set[str] = field(default_factory=set)
    """Queues that got work visible at once."""
    due_ms: dict[str, int] = field(default_factory=dict)
    """Per queue, the earliest moment a delayed message (or a lock) comes due."""
    next_due_ms: dict[str, int | None] = field(default_factory=dict)
    """Per queue, what an empty fetch learnt: the next due moment, or None for nothing at all."""

    def work_now(self, queue: str) -> None:
        self.now.add(queue)

    def work_at(self, queue: str, at_ms: int, now_ms: int) -> None:
        if at_ms <= now_ms:
            self.now.add(queue)
        else:
            self.due_ms[queue] = min(at_ms, self.due_ms.get(queue, at_ms))

    def merge(self, other: Wake) -> None:
        """Add the wake-ups of a part (a turn's savepoint) that was kept."""
        self.now |= other.now
        for queue, due in other.due_ms.items():
            self.due_ms[queue] = min(due, self.due_ms.get(queue, due))
        self.next_due_ms.update(other.next_due_ms)


class QueueSignal:
    """The event loop's view of one queue: an event for local writes and the next due moment."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.due_ms: int | None = None

    async def wait(self, timeout_ms: int, clock: Callable[[], int]) -> None:
        """Return when the event is set, the due moment arrives, or after ``timeout_ms``."""
        if not self.event.is_set():
            delay_ms = timeout_ms if self.due_ms is None else min(timeout_ms, self.due_ms - clock())
            if delay_ms > 0:
                try:
                    await asyncio.wait_for(self.event.wait(), delay_ms / 1000)
                except asyncio.TimeoutError:
                    pass
        self.event.clear()
        if self.due_ms is not None and self.due_ms <= clock():
            self.due_ms = None  # consumed: the next empty fetch says when the one after is due


def apply(wake: Wake, signals: dict[str, QueueSignal]) -> None:
    """Hand a finished transaction's wake-ups to the event loop's signals."""
    for queue, next_due in wake.next_due_ms.items():
        signals[queue].due_ms = next_due
    for queue, due in wake.due_ms.items():
        current = signals[queue].due_ms
        signals[queue].due_ms = due if current is None else min(current, due)
    for queue in wake.now:
        signals[queue].event.set()


@dataclass(slots=True)
class PollState:
    """What the last empty fetch of one queue saw (database thread only)."""

    data_version: int | None = None
    writes: int = -1
    next_due_ms: int | None = None
    scope: str | None = None
    """The instances the empty fetch was limited to (None: all): another scope may find work."""

    def can_skip(self, data_version: int, writes: int, now_ms: int, scope: str | None) -> bool:
        """True when nothing changed since an empty fetch for the same scope and nothing has come due."""
        unchanged = data_version == self.data_version and writes == self.writes and scope == self.scope
        return unchanged and (self.next_due_ms is None or now_ms < self.next_due_ms)

    def remember_empty(self, data_version: int, writes: int, next_due_ms: int | None, scope: str | None) -> None:
        self.data_version, self.writes, self.next_due_ms, self.scope = data_version, writes, next_due_ms, scope

    def forget(self) -> None:
        self.data_version = None
