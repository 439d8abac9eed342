"""Renewing an activity's lease while it runs, at no cost for the many that end first."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any


class LeaseRenewal:
    """Renews an activity's lease while it runs. Most activities end long before the first
    renewal is due, so the renewing task is only started then (by ``Renewals``); until that
    moment stopping costs no task to cancel and await."""

    def __init__(self, renew: Callable[[], Coroutine[Any, Any, None]]):
        self._renew: Callable[[], Coroutine[Any, Any, None]] | None = renew
        self._task: asyncio.Task[None] | None = None

    def _begin(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._renew is not None:
            self._task = loop.create_task(self._renew())

    async def stop(self) -> None:
        self._renew = None  # not begun later, and what it would renew is let go
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class Renewals:
    """Starts each ``LeaseRenewal`` ``first_after_s`` after it was made, with one timer for all.

    Every renewal of a worker is first due the same time after it starts, so they come due in
    the order they were made: they wait in a queue, and one timer is set for the earliest
    (instead of a timer per activity, set and cancelled on the loop's heap each time). A renewal
    stopped before it is due leaves the queue when it reaches the front."""

    def __init__(self, first_after_s: float):
        self._first_after_s = first_after_s
        self._due: deque[tuple[float, LeaseRenewal]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def start(self, renew: Callable[[], Coroutine[Any, Any, None]]) -> LeaseRenewal:
        """A renewal that calls ``renew`` (once, as a task) unless stopped within ``first_after_s``."""
        renewal = LeaseRenewal(renew)
        loop = asyncio.get_running_loop()
        due = loop.time() + self._first_after_s
        self._due.append((due, renewal))
        if self._timer is None:
            self._timer = loop.call_at(due, self._begin_due)
        return renewal

    def _begin_due(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        queue = self._due
        while queue and (queue[0][1]._renew is None or queue[0][0] <= now):
            queue.popleft()[1]._begin(loop)
        if queue:
            self._timer = loop.call_at(queue[0][0], self._begin_due)

    def close(self) -> None:
        """Start no more renewals (those begun are stopped by their activities)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._due.clear()
