"""The lean hop from the event loop to worker threads and back: a plain queue to daemon threads,
the results handed back in batches, one ``call_soon_threadsafe`` for all those that finish
while the loop has not yet taken the earlier ones (each such call writes to the loop's wake-up
socket, and the loop reads it back: under load that was one system call each way per result).

Every turn and every SQLite store call crosses to a thread and back, so the crossing is kept
lean. ``loop.run_in_executor`` on a ``ThreadPoolExecutor`` costs about twice as much per call (a
concurrent future, its lock and condition, the executor's idle-thread semaphore, and a second
future chained to it on the loop), and an executor's threads hold up the process's exit, where
a thread stuck in user code must not.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

FORWARDED: Any = object()
"""What a function run by ``DaemonThreads`` returns when it has handed its future on to another
thread (``forward``), which settles it instead."""

_Item = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]
_Settlement = tuple["asyncio.Future[Any]", Any, "BaseException | None"]


class DaemonThreads:
    """``count`` daemon threads running the functions handed to them (one thread: one at a time,
    in the order given)."""

    def __init__(self, count: int, name: str):
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._count = count
        self._closed = False
        self._lock = threading.Lock()
        self._finished: dict[asyncio.AbstractEventLoop, list[_Settlement]] = {}
        """Results not yet handed to their loop, by loop; a loop has a hand-over scheduled while it has a list here."""
        for _ in range(count):
            threading.Thread(target=self._work, name=name, daemon=True).start()

    def submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """A future of the running loop, settled with ``fn(*args)`` (or what it raised) once a
        thread has run it. Settling it first (cancelling it) does not stop ``fn``."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((loop, future, fn, args))
        return future

    def forward(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], fn: Callable[..., Any], *args: Any) -> None:
        """From any thread: run ``fn(*args)`` here and settle ``future`` (of ``loop``, which only
        that loop touches otherwise) with what it returns -- the hop from one thread to the next
        without the event loop in between."""
        self._queue.put((loop, future, fn, args))

    def close(self) -> None:
        """The threads end once they have taken everything submitted before."""
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
            except BaseException as raised:  # noqa: BLE001 - handed to the awaiting caller
                value, error = None, raised
            if value is not FORWARDED:
                self._hand_back(loop, (future, value, error))
            del future, value, error, fn, args, item  # hold on to nothing while waiting for the next

    def _hand_back(self, loop: asyncio.AbstractEventLoop, settlement: _Settlement) -> None:
        """Queue a result for ``loop``; the first one queued since the loop last took them
        schedules the hand-over there."""
        with self._lock:
            waiting = self._finished.get(loop)
            if waiting is not None and not loop.is_closed():
                waiting.append(settlement)
                return
            self._finished[loop] = [settlement]
        try:
            loop.call_soon_threadsafe(self._settle_finished, loop)
        except RuntimeError:  # the loop has closed: nobody waits for these results any more
            with self._lock:
                self._finished.pop(loop, None)

    def _settle_finished(self, loop: asyncio.AbstractEventLoop) -> None:
        """On ``loop``: settle every result queued for it, in the order they finished."""
        with self._lock:
            finished = self._finished.pop(loop, [])
        for future, value, error in finished:
            settle(future, value, error)


def settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    """On the event loop: settle ``future`` with a result or an error, unless something settled
    it first (a watchdog, a cancelled caller)."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
