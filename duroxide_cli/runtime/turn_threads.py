"""The turn threads: where user orchestration code runs, under the turn watchdog."""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid

from ..clock import Clock
from ..history import FailureDetails, HistoryEvent, OrchestrationStarted
from ..messages import Message
from ..model.options import RuntimeOptions
from ..replay import Replayer, TurnResult
from ..replay.actions import Failed
from ..replay.endings import end_without_code


class TurnThreads:
    """Runs turns on ``orchestration_concurrency`` threads, so the watchdog can give up on code
    that never yields (``turn_timeout_ms``) while the event loop goes on."""

    def __init__(self, options: RuntimeOptions, clock: Clock):
        self._options = options
        self._clock = clock
        self._threads = self._new_pool()

    def _new_pool(self) -> concurrent.futures.ThreadPoolExecutor:
        return concurrent.futures.ThreadPoolExecutor(
            max_workers=self._options.orchestration_concurrency, thread_name_prefix="duroxide-turn"
        )

    async def run(self, replayer: Replayer, recorded: list[HistoryEvent], messages: list[Message]) -> TurnResult | None:
        """The turn's result, or None when the code did not yield in time (then ``timed_out``)."""
        loop = asyncio.get_running_loop()
        now_ms = self._clock.now_ms()
        future = loop.run_in_executor(
            self._threads, replayer.run_turn, recorded, messages, now_ms, lambda: str(uuid.uuid4())
        )
        try:
            return await asyncio.wait_for(future, self._options.turn_timeout_ms / 1000)
        except asyncio.TimeoutError:
            # the thread may spin forever: give the pool up and start a new one
            self._threads.shutdown(wait=False)
            self._threads = self._new_pool()
            return None

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
        self._threads.shutdown(wait=False, cancel_futures=True)
