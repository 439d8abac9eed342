"""The turn threads: where orchestration code runs, and the watchdog that gives up on code that
does not yield."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from ..clock import Clock
from ..history import FailureDetails, HistoryEvent, OrchestrationStarted
from ..messages import Message
from ..model.options import RuntimeOptions
from ..replay import Replayer, TurnResult
from ..replay.actions import Failed
from ..replay.endings import end_without_code
from ..thread_hop import DaemonThreads, settle

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
        self._threads: DaemonThreads | None = None

    def slot(self) -> asyncio.Semaphore:
        """``async with threads.slot():`` waits for a free thread and keeps it for ``run``."""
        return self._slots

    async def run(self, replayer: Replayer, recorded: list[HistoryEvent], messages: list[Message]) -> TurnResult | None:
        """The turn on a turn thread, inside ``slot``; None when the code did not yield within the
        turn timeout (then ``timed_out``). The thread may still be running it then (code that never
        yields cannot be stopped), so its threads are given up and new ones take the next turns."""
        if self._threads is None:
            self._threads = DaemonThreads(self._concurrency, "duroxide-turn")
        future: asyncio.Future[Any] = self._threads.submit(
            replayer.run_turn, recorded, messages, self._clock.now_ms(), _new_guid
        )
        watchdog = asyncio.get_running_loop().call_later(self._timeout_s, settle, future, _TIMED_OUT, None)
        try:
            result = await future
        finally:
            watchdog.cancel()
        if result is _TIMED_OUT:
            self._threads.close()
            self._threads = DaemonThreads(self._concurrency, "duroxide-turn")
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


def _new_guid() -> str:
    return str(uuid.uuid4())
