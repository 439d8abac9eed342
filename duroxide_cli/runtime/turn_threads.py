"""The turn threads: where orchestration code runs, and the watchdog that gives up on code that
does not yield."""

from __future__ import annotations

import asyncio
import queue
import threading
import uuid
from collections.abc import Callable
from typing import Any

from ..clock import Clock
from ..history import FailureDetails, HistoryEvent, OrchestrationStarted
from ..messages import Message
from ..model.options import RuntimeOptions
from ..replay import Replayer, TurnResult
from ..replay.actions import Failed
from ..replay.endings import end_without_code

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

    def __init__(self, options: RuntimeOptions, clock: Clock):
        self._options = options
        self._clock = clock
        self._concurrency = options.orchestration_concurrency
        self._timeout_s = options.turn_timeout_ms / 1000
        self._slots = asyncio.Semaphore(self._concurrency)
        self._threads: _Threads | None = None

    def slot(self) -> asyncio.Semaphore:
        """``async with threads.slot():`` waits for a free thread and keeps it for ``run``."""
        return self._slots

    async def run(self, replayer: Replayer, recorded: list[HistoryEvent], messages: list[Message]) -> TurnResult | None:
        """The turn on a turn thread, inside ``slot``; None when the code did not yield within the
        turn timeout (then ``timed_out``). The thread may still be running it then (code that never
        yields cannot be stopped), so its threads are given up and new ones take the next turns."""
        loop = asyncio.get_running_loop()
        if self._threads is None:
            self._threads = _Threads(self._concurrency)
        future: asyncio.Future[Any] = loop.create_future()
        args = (recorded, messages, self._clock.now_ms(), _new_guid)
        self._threads.submit(loop, future, replayer.run_turn, args)
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

    async def run_when_free(self, replayer: Replayer, recorded: list[HistoryEvent], messages: list[Message]) -> TurnResult | None:
        """``run``, once a slot is free."""
        async with self._slots:
            return await self.run(replayer, recorded, messages)

    def timed_out(
        self, replayer: Replayer, started: OrchestrationStarted, recorded_count: int, custom_status: object
    ) -> TurnResult:
        """The result of a turn whose code did not yield in time: the execution fails right after the
        ``recorded_count`` events stored before the turn (the stuck thread still appends to the
        replayer, so nothing it recorded is used)."""
        failure = FailureDetails(
            "TurnTimeoutError",
            f"the orchestration did not yield for {self._options.turn_timeout_ms} ms (at {replayer.location()}); "
            "move blocking work into an activity",
        )
        replayer.outcome = Failed(failure)
        return end_without_code(recorded_count, started, Failed(failure), self._clock.now_ms(), custom_status)

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


def _new_guid() -> str:
    return str(uuid.uuid4())
