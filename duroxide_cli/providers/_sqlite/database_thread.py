"""The one thread that owns a SQLite connection, and the lean hop to it from the event loop.

Every provider call crosses to this thread and back, and a chain step makes two such calls, so
the crossing is kept lean (as ``runtime/turn_threads.py`` does for turns): a plain queue to the
thread, the result handed back with one ``call_soon_threadsafe``. ``loop.run_in_executor`` on a
``ThreadPoolExecutor`` costs more per call: a concurrent future, its lock and condition, the
executor's idle-thread semaphore, and a second future chained to it on the loop.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Item = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


class DatabaseThread:
    """One thread running the functions handed to it, one at a time, in the order given.

    Its owner (the ``Database``) starts it, and ``stop`` ends it once everything handed to it
    before has run. The thread is a daemon so that a store never closed does not hold up the
    process's exit; being stopped there is a crash to SQLite, which its journal survives.
    """

    def __init__(self, name: str = "duroxide-sqlite"):
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._stopped = False
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def run(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """A future of the event loop, settled with ``fn(*args)`` (or what it raised) once the
        thread has run it. Cancelling the future does not stop ``fn``: it still runs."""
        if self._stopped:
            raise RuntimeError("the database thread has stopped")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((loop, future, fn, args))
        return future

    async def stop(self) -> None:
        """Run what was handed over before, then end the thread (waits for it without blocking
        the event loop)."""
        if self._stopped:
            return
        ended = self.run(lambda: None)
        self._stopped = True
        self._queue.put(None)
        await asyncio.shield(ended)

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
                loop.call_soon_threadsafe(_settle, future, value, error)
            except RuntimeError:  # the loop has closed: nobody waits for the result any more
                continue


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    """On the event loop: hand the thread's result to its future, unless it was cancelled."""
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
