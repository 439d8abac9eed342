"""The lean hop from the event loop to worker threads and back: a plain queue to daemon threads,
each result handed back with one ``call_soon_threadsafe``.

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

_Item = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


class DaemonThreads:
    """``count`` daemon threads running the functions handed to them (one thread: one at a time,
    in the order given)."""

    def __init__(self, count: int, name: str):
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._count = count
        self._closed = False
        for _ in range(count):
            threading.Thread(target=self._work, name=name, daemon=True).start()

    def submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """A future of the running loop, settled with ``fn(*args)`` (or what it raised) once a
        thread has run it. Settling it first (cancelling it) does not stop ``fn``."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((loop, future, fn, args))
        return future

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
            try:
                loop.call_soon_threadsafe(settle, future, value, error)
            except RuntimeError:  # the loop has closed: nobody waits for this result any more
                continue


def settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    """On the event loop: settle ``future`` with a result or an error, unless something settled
    it first (a watchdog, a cancelled caller)."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
