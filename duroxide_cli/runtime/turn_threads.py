"""The turn threads: where orchestration code runs, and the watchdog that gives up on code that
does not yield."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_TIMED_OUT = object()
"""What the watchdog settles a turn's future with."""


class TurnThreads:
    """``concurrency`` threads for orchestration code, and turns waiting for them.

    A dispatcher may hold more turns than there are threads (fetching many instances at once is
    cheaper than fetching them one thread at a time); the extra ones wait, untimed, in ``slot``.
    The watchdog times a turn from when it holds a slot -- when a thread is there to start it --
    not from when it was queued, so a turn is never failed for its wait.

    Every turn crosses to a thread and back, so the crossing is kept lean: a plain queue to the
    threads, the result handed back with one ``call_soon_threadsafe``, and the watchdog a timer
    handle (``asyncio.wait_for`` and an executor's futures cost about twice as much per turn).
    """

    def __init__(self, concurrency: int, turn_timeout_ms: int):
        self._concurrency = concurrency
        self._timeout_s = turn_timeout_ms / 1000
        self._slots = asyncio.Semaphore(concurrency)
        self._threads: _Threads | None = None

    def slot(self) -> asyncio.Semaphore:
        """``async with threads.slot():`` waits for a free thread and keeps it for ``run``."""
        return self._slots

    async def run(self, fn: Callable[..., T], *args: Any) -> T | None:
        """``fn(*args)`` on a turn thread, inside ``slot``; None when it did not return within the
        turn timeout. The thread may still be running it then (code that never yields cannot be
        stopped), so its threads are given up and new ones take the next turns."""
        loop = asyncio.get_running_loop()
        if self._threads is None:
            self._threads = _Threads(self._concurrency)
        future: asyncio.Future[Any] = loop.create_future()
        self._threads.submit(loop, future, fn, args)
        watchdog = loop.call_later(self._timeout_s, _settle, future, _TIMED_OUT, None)
        try:
            result = await future
        finally:
            watchdog.cancel()
        if result is _TIMED_OUT:
            self._threads.close()
            self._threads = _Threads(self._concurrency)
            return None
        return result  # type: ignore[no-any-return]

    def shutdown(self) -> None:
        """Start no more turns; a thread stuck in user code is left to the process's end."""
        if self._threads is not None:
            self._threads.close()
            self._threads = None


class _Threads:
    """Daemon threads taking (loop, future, fn, args) from one queue: a thread stuck in user code
    never holds up the process's exit, as an executor's would."""

    def __init__(self, count: int):
        self._queue: queue.SimpleQueue[tuple[asyncio.AbstractEventLoop, asyncio.Future[Any], Callable[..., Any], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._count = count
        self._closed = False
        for _ in range(count):
            threading.Thread(target=self._work, name="duroxide-turn", daemon=True).start()

    def submit(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self._queue.put((loop, future, fn, args))

    def close(self) -> None:
        """The threads end once they have taken what was submitted before (they are free by then:
        a turn is submitted only when a slot is)."""
        if not self._closed:
            self._closed = True
            for _ in range(self._count):
                self._queue.put(None)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            loop, future, fn, args = item
            try:
                value, error = fn(*args), None
            except BaseException as raised:  # noqa: BLE001 - handed to the awaiting turn
                value, error = None, raised
            try:
                loop.call_soon_threadsafe(_settle, future, value, error)
            except RuntimeError:  # the loop has closed: nobody waits for this turn any more
                return


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    """On the event loop: the first of the thread and the watchdog settles the turn."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
