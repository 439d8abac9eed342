"""The turn threads: where orchestration code runs, and the watchdog that gives up on code that
does not yield."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class TurnThreads:
    """``concurrency`` threads for orchestration code, and turns waiting for them.

    A dispatcher may hold more turns than there are threads (fetching many instances at once is
    cheaper than fetching them one thread at a time); the extra ones wait, untimed, in ``slot``.
    The watchdog times a turn from when it holds a slot -- when a thread is there to start it --
    not from when it was queued, so a turn is never failed for its wait.
    """

    def __init__(self, concurrency: int, turn_timeout_ms: int):
        self._concurrency = concurrency
        self._timeout_s = turn_timeout_ms / 1000
        self._slots = asyncio.Semaphore(concurrency)
        self._pool = self._new_pool()

    def slot(self) -> asyncio.Semaphore:
        """``async with threads.slot():`` waits for a free thread and keeps it for ``run``."""
        return self._slots

    async def run(self, fn: Callable[..., T], *args: Any) -> T | None:
        """``fn(*args)`` on a turn thread, inside ``slot``; None when it did not return within the
        turn timeout. The thread may still be running it then (code that never yields cannot be
        stopped), so the pool is given up and a new one takes the next turns."""
        future = asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        try:
            return await asyncio.wait_for(future, self._timeout_s)
        except asyncio.TimeoutError:
            self._pool.shutdown(wait=False)
            self._pool = self._new_pool()
            return None

    def shutdown(self) -> None:
        """Start no more turns; a thread stuck in user code is left to the process's end."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _new_pool(self) -> concurrent.futures.ThreadPoolExecutor:
        return concurrent.futures.ThreadPoolExecutor(max_workers=self._concurrency, thread_name_prefix="duroxide-turn")
