"""The one thread that owns a SQLite connection, and the lean hop to it from the event loop
(``thread_hop``, as for turns): every provider call crosses to this thread and back, and a chain
step makes two such calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from ...thread_hop import DaemonThreads

T = TypeVar("T")


class DatabaseThread:
    """One thread running the functions handed to it, one at a time, in the order given.

    Its owner (the ``Database``) starts it, and ``stop`` ends it once everything handed to it
    before has run. The thread is a daemon so that a store never closed does not hold up the
    process's exit; being stopped there is a crash to SQLite, which its journal survives.
    """

    def __init__(self, name: str = "duroxide-sqlite"):
        self._thread = DaemonThreads(1, name)
        self._stopped = False

    def run(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """A future of the event loop, settled with ``fn(*args)`` (or what it raised) once the
        thread has run it. Cancelling the future does not stop ``fn``: it still runs."""
        if self._stopped:
            raise RuntimeError("the database thread has stopped")
        return self._thread.submit(fn, *args)

    def forward(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], fn: Callable[..., Any], *args: Any) -> None:
        """``run`` from another thread (see ``DaemonThreads.forward``): ``future``, of ``loop``,
        is settled with ``fn(*args)``. Raises RuntimeError once the thread has stopped."""
        if self._stopped:
            raise RuntimeError("the database thread has stopped")
        self._thread.forward(loop, future, fn, *args)

    async def stop(self) -> None:
        """Run what was handed over before, then end the thread (waits for it without blocking
        the event loop)."""
        if self._stopped:
            return
        ended = self.run(lambda: None)
        self._stopped = True
        self._thread.close()
        await asyncio.shield(ended)
