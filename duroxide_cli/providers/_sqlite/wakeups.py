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
    writes: int = 0
    """How many writes this provider's connection had made when the transaction ran (its own
    included): orders wake-ups against fetches."""

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
    """The event loop's view of one queue: work written by this process, and the next due moment.

    A wait ends at the earliest of: work written (now, or since the last wait), the due moment,
    and its timeout. A due moment learnt while a wait is under way (a turn that set a timer
    commits while the dispatcher idles) re-arms that wait, so a timer is fetched when it comes
    due and not at the next poll tick.
    """

    def __init__(self) -> None:
        self._pending = 0
        """The latest write that made work fetchable while nobody waited (0: none)."""
        self._fetched = 0
        """The writes a fetch that took everything fetchable had seen."""
        self.due_ms: int | None = None
        self._waits: list[_Wait] = []

    def work_now(self, writes: int) -> None:
        """Work became fetchable with the write numbered ``writes``: end every wait, or else the
        next one unless a fetch that took everything fetchable has seen that write by then."""
        if not self._waits:
            self._pending = max(self._pending, writes)
        for wait in self._waits:
            wait.end()

    def fetched_all(self, writes: int) -> None:
        """A fetch (not limited to some instances) that had seen ``writes`` writes took all there
        was: what those writes made fetchable is taken, and waking for it again would cost an
        empty fetch."""
        self._fetched = max(self._fetched, writes)

    def due_at(self, due_ms: int | None) -> None:
        """Something comes due at ``due_ms`` (None: nothing known); an earlier moment than the one
        known re-arms the waits under way."""
        if due_ms is None or (self.due_ms is not None and self.due_ms <= due_ms):
            return
        self.due_ms = due_ms
        for wait in self._waits:
            wait.arm(due_ms)

    async def wait(self, timeout_ms: int, clock: Callable[[], int]) -> None:
        """Return when work is written, the due moment arrives, or after ``timeout_ms``."""
        if self._pending > self._fetched:
            self._pending = 0
        else:
            wait = _Wait(asyncio.get_running_loop(), timeout_ms, clock)
            self._waits.append(wait)
            try:
                wait.arm(self.due_ms)
                await wait.future
            finally:
                wait.cancel()
                self._waits.remove(wait)
        if self.due_ms is not None and self.due_ms <= clock():
            self.due_ms = None  # consumed: the next empty fetch says when the one after is due


class _Wait:
    """One ``QueueSignal.wait`` under way: a future and the timer handle that ends it."""

    __slots__ = ("_loop", "_clock", "_deadline", "_timer", "future")

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout_ms: int, clock: Callable[[], int]):
        self._loop = loop
        self._clock = clock
        self._deadline = loop.time() + timeout_ms / 1000
        self._timer: asyncio.TimerHandle | None = None
        self.future: asyncio.Future[None] = loop.create_future()

    def arm(self, due_ms: int | None) -> None:
        """End at the deadline or at ``due_ms`` (store clock), whichever comes first."""
        delay = self._deadline - self._loop.time()
        if due_ms is not None:
            delay = min(delay, (due_ms - self._clock()) / 1000)
        if self._timer is not None:
            self._timer.cancel()
        if delay <= 0:
            self.end()
        else:
            self._timer = self._loop.call_later(delay, self.end)

    def end(self) -> None:
        if not self.future.done():
            self.future.set_result(None)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def apply(wake: Wake, signals: dict[str, QueueSignal]) -> None:
    """Hand a finished transaction's wake-ups to the event loop's signals. Due moments only move
    earlier here (one that turns out stale costs an early fetch); a wait consumes them."""
    for queue, next_due in wake.next_due_ms.items():
        signals[queue].due_at(next_due)
    for queue, due in wake.due_ms.items():
        signals[queue].due_at(due)
    for queue in wake.now:
        signals[queue].work_now(wake.writes)


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
