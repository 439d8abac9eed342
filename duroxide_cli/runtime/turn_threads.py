"""The turn threads: where orchestration code runs, and the watchdog that gives up on code that
does not yield."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from ..clock import Clock
from ..history import FailureDetails, HistoryEvent, OrchestrationStarted
from ..messages import Message
from ..model.options import RuntimeOptions
from ..replay import Replayer, TurnResult
from ..replay.actions import Failed
from ..replay.endings import TURN_TIMEOUT_ERROR, end_without_code
from ..thread_hop import DaemonThreads, settle

_TIMED_OUT = object()
"""What the watchdog settles a turn's future with."""

Then = Callable[[TurnResult, asyncio.AbstractEventLoop, "asyncio.Future[Any]"], Any]
"""What ``start_then`` calls on the turn thread with the turn's result: it returns the future's
value, or ``FORWARDED`` once it has handed the future on to another thread."""


class _Slots(asyncio.Semaphore):
    """The turn threads' slots; one may also be taken without waiting (``start_then``)."""

    def try_acquire(self) -> bool:
        """Take a slot if one is free now and no turn waits for one."""
        if self.locked():
            return False
        self._value -= 1
        return True


class _Watched:
    """Where a turn of ``start_then`` is, as its thread and the watchdog see it (under ``_lock``):
    a turn that has returned is no longer timed, and one timed out goes no further."""

    __slots__ = ("returned", "timed_out")

    def __init__(self) -> None:
        self.returned = False
        self.timed_out = False


class TurnThreads:
    """``concurrency`` threads for orchestration code, and turns waiting for them.

    A dispatcher may hold more turns than there are threads (fetching many instances at once is
    cheaper than fetching them one thread at a time); the extra ones wait, untimed, in ``slot``.
    The watchdog times a turn from when it holds a slot -- when a thread is there to start it --
    not from when it was queued, so a turn is never failed for its wait.

    Every turn crosses to a thread and back, so the crossing is kept lean: a plain queue to the
    threads, the result handed back with one ``call_soon_threadsafe``, and one watchdog timer for
    all turns (``asyncio.wait_for`` and an executor's futures cost about twice as much per turn).
    All turns share one timeout, so their deadlines come in the order the turns start: they wait
    in a queue, and the one timer is set for the earliest (instead of a timer per turn, set and
    cancelled on the loop's heap each time).
    """

    def __init__(self, options: RuntimeOptions, clock: Clock):
        self._options = options
        self._clock = clock
        self._concurrency = options.orchestration_concurrency
        self._timeout_s = options.turn_timeout_ms / 1000
        self._slots = _Slots(self._concurrency)
        self._threads: DaemonThreads | None = None
        self._deadlines: deque[tuple[float, asyncio.Future[Any], _Watched | None]] = deque()
        """Turns running on a thread, by when they time out (loop time), earliest first; a settled
        one leaves when it reaches the front."""
        self._watchdog: asyncio.TimerHandle | None = None
        """Set for the front of ``_deadlines`` (or earlier) while that is not empty."""
        self._lock = threading.Lock()
        """Orders a ``start_then`` turn's return against the watchdog."""

    def start(self) -> None:
        """Start the threads now rather than at the first turn: starting them takes a few
        milliseconds (each thread start waits for the thread), which the first turn after a
        runtime's start would otherwise wait for."""
        if self._threads is None:
            self._threads = DaemonThreads(self._concurrency, "duroxide-turn")

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
        self._watch(future)
        return await self._outcome(future)  # type: ignore[no-any-return]

    def start_then(self, replayer: Replayer, recorded: list[HistoryEvent], messages: list[Message], then: Then) -> asyncio.Future[Any] | None:
        """Start the turn on a thread now, if one is free (None when none is): ``run``, with
        ``then`` called on the turn thread right after the turn, with its result. The future's
        value is what ``then`` returns, or, when it hands the future on (``thread_hop.forward``),
        what settles it there -- the commit of the turn, with no pass through the event loop in
        between. The watchdog times the turn only: once it has returned, what ``then`` started
        is not timed out. Hand the future to ``end_then``, which gives the thread's slot back.

        Starting it here rather than in a task of its own, the turn is on its thread before the
        event loop's next pass: one pass fewer on a chain step's path."""
        if not self._slots.try_acquire():
            return None
        if self._threads is None:
            self._threads = DaemonThreads(self._concurrency, "duroxide-turn")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        watched = _Watched()
        self._threads.forward(
            loop, future, self._turn_then, watched, loop, future, replayer, recorded, messages, self._clock.now_ms(), then
        )
        self._watch(future, watched)
        return future

    async def end_then(self, future: asyncio.Future[Any]) -> Any:
        """The value of a turn ``start_then`` started (None: the code did not yield in time)."""
        try:
            return await self._outcome(future)
        finally:
            self._slots.release()

    def _turn_then(
        self,
        watched: _Watched,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[Any],
        replayer: Replayer,
        recorded: list[HistoryEvent],
        messages: list[Message],
        now_ms: int,
        then: Then,
    ) -> Any:
        """On a turn thread: the turn, then ``then`` unless the watchdog gave up on it first."""
        result = replayer.run_turn(recorded, messages, now_ms, _new_guid)
        with self._lock:
            if watched.timed_out:
                return _TIMED_OUT  # its future is settled already
            watched.returned = True
        return then(result, loop, future)

    async def _outcome(self, future: asyncio.Future[Any]) -> Any:
        """The value of a turn's future; None when it timed out (its threads are then given up)."""
        value = await future
        self._forget_settled()
        if value is _TIMED_OUT:
            if self._threads is not None:
                self._threads.close()
            self._threads = DaemonThreads(self._concurrency, "duroxide-turn")
            return None
        return value

    def _watch(self, future: asyncio.Future[Any], watched: _Watched | None = None) -> None:
        """Settle ``future`` with ``_TIMED_OUT`` unless it is settled within the turn timeout (or,
        with ``watched``, its turn has returned by then)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        self._deadlines.append((deadline, future, watched))
        if self._watchdog is None:
            self._watchdog = loop.call_at(deadline, self._time_out)

    def _forget_settled(self) -> None:
        """Let go of the settled turns at the front (turns end about in the order they start)."""
        deadlines = self._deadlines
        while deadlines and deadlines[0][1].done():
            deadlines.popleft()

    def _time_out(self) -> None:
        """The watchdog: settle the turns past their deadline, then wait for the next one."""
        self._watchdog = None
        deadlines = self._deadlines
        loop = asyncio.get_running_loop()
        now = loop.time()
        while deadlines and (deadlines[0][1].done() or deadlines[0][0] <= now):
            _, future, watched = deadlines.popleft()
            if watched is not None and not future.done():
                with self._lock:
                    if watched.returned:
                        continue  # what follows the turn (its commit) settles it
                    watched.timed_out = True
            settle(future, _TIMED_OUT, None)
        if deadlines:
            self._watchdog = loop.call_at(deadlines[0][0], self._time_out)

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
            TURN_TIMEOUT_ERROR,
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
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        self._deadlines.clear()


def _new_guid() -> str:
    return str(uuid.uuid4())
