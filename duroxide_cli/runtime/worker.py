"""The activity worker: fetch activity work, run it (sync activities on a thread pool), complete it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from ..errors import ProviderError
from ..history import ActivityCompleted, ActivityFailed, FailureDetails
from ..messages import Message
from ..model.context import ActivityContext
from ..model.options import RuntimeOptions
from ..model.registry import Registry, takes_input
from ..payloads import normalize
from ..providers.base import ActivityCompletion, ActivityWork, Provider
from .batcher import Batcher
from .fetch_loop import FetchLoop, redelivery_delay_ms
from .logs import activity_log
from .renewal import Renewals
from .scope import InstanceScope
from .stats import RuntimeStats

_COMPLETION_ATTEMPTS = 6

_COMPLETIONS_WAITING_PER_SLOT = 4
"""How many finished activities per ``activity_concurrency`` slot may wait for their commit without taking one."""

ResultDelivery = Callable[[ActivityWork, Message], Awaitable[bool]]
"""Commits an activity's result with the turn it unblocks, in this process; False when it cannot."""

_FETCHED_PER_SLOT = 8
"""While activities are short, a fetch takes up to this many per ``activity_concurrency`` slot and
the ones beyond the slots wait for one, their leases renewed as if they ran: fewer and larger
fetches and completion commits (each a store transaction) is what raises the rate of short
activities. Long ones gain nothing from it, and are not held back from other processes."""
_SHORT_ACTIVITY_S = 0.01
"""Activities are short while their running mean (``_RunTimes``) stays under this."""


class ActivityWorker:
    """Runs up to ``activity_concurrency`` activities at once, renewing their locks as they run."""

    def __init__(
        self,
        provider: Provider,
        registry: Registry,
        options: RuntimeOptions,
        stats: RuntimeStats,
        scope: InstanceScope | None = None,
    ):
        self._provider = provider
        self._scope = scope
        self._registry = registry
        self._options = options
        self._stats = stats
        self._threads = concurrent.futures.ThreadPoolExecutor(
            max_workers=options.activity_concurrency, thread_name_prefix="duroxide-activity"
        )
        self._slots = asyncio.Semaphore(options.activity_concurrency)
        """What bounds the activities that run at once; the fetch may take more (_FETCHED_PER_SLOT)."""
        self._run_times = _RunTimes(_SHORT_ACTIVITY_S)
        self._completer: Batcher[ActivityCompletion, bool] = Batcher(provider.complete_activities)
        self._running: dict[int, tuple[asyncio.Task[None], ActivityWork, ActivityContext]] = {}
        self._running_of: dict[str, set[int]] = {}
        """The work items of ``_running`` by instance, so ``cancel_local`` looks at the instance's only."""
        self._completing: set[int] = set()
        """Work items of ``_running`` whose activity has returned and whose result waits for its commit."""
        self._cancelling = False
        """Set by ``stop`` as it cancels what still runs."""
        self._renewals: Renewals | None = None
        """Starts the lease renewals of running activities (made on the first activity: it needs the loop)."""
        self._reserved = 0
        """Slots held for activities a turn's commit is leasing to this process (``reserve``)."""
        self._reserving = threading.Lock()
        """Guards ``_reserved``: a turn's commit may be built, and its slots reserved, on a turn thread."""
        self.deliver_locally: ResultDelivery | None = None
        """Where the results of activities leased by this process's commits go first (the
        dispatcher's ``LocalDelivery.deliver``); None: every result is stored on its own."""
        self._loop: FetchLoop[ActivityWork] = FetchLoop(
            provider, "worker", self._capacity, options.poll_interval_ms,
            self._busy, self._fetch, self._launch,
        )

    async def run(self) -> None:
        """Fetch and run until ``request_stop``; the caller owns this task."""
        await self._loop.run()

    def request_stop(self) -> None:
        """Fetch no more work."""
        self._loop.request_stop()

    def _capacity(self) -> int:
        """How many activities this worker may hold: what can run, more while they are short."""
        slots = self._options.activity_concurrency
        return slots * _FETCHED_PER_SLOT if self._run_times.mean_s < _SHORT_ACTIVITY_S else slots

    def _busy(self) -> int:
        """Slots taken: an activity whose result waits only for its commit takes none (up to a
        bound), so the next activities run while the commit syncs."""
        waiting = min(len(self._completing), _COMPLETIONS_WAITING_PER_SLOT * self._options.activity_concurrency)
        return len(self._running) - waiting + self._reserved

    async def _fetch(self, limit: int) -> list[ActivityWork]:
        options = self._options
        return await self._provider.fetch_activity_work(
            limit,
            options.worker_lock_timeout_ms,
            options.worker_id,
            instance_ids=None if self._scope is None else self._scope.ids(),
        )

    def _launch(self, work: ActivityWork, leased_here: bool = False) -> None:
        context = self._context(work)
        task = asyncio.create_task(self._execute_guarded(work, context, leased_here))
        self._running[work.work_id] = (task, work, context)
        self._running_of.setdefault(work.instance_id, set()).add(work.work_id)

    def reserve(self, wanted: int) -> int:
        """Hold up to ``wanted`` free slots for activities a turn's commit will lease here (see
        ``runtime/local_activities.py``); how many it holds. ``run_leased`` ends the reservation.
        Called on the event loop or on a turn thread (a commit built there, ``TurnCommitter``):
        the count is read as the loop last left it, a bound that may be a moment stale."""
        if wanted <= 0 or self._loop.stopping:
            return 0
        with self._reserving:
            granted = max(0, min(wanted, self._capacity() - self._busy()))
            self._reserved += granted
        return granted

    async def run_leased(self, reserved: int, leased: Sequence[ActivityWork]) -> None:
        """Run what a commit leased here, as if fetched, and free the rest of the reservation;
        while stopping, give it back to the store (uncounted) for another process."""
        with self._reserving:
            self._reserved -= reserved
        for work in leased:
            if not self._loop.stopping:
                self._launch(work, leased_here=True)
                continue
            try:
                await self._provider.abandon_activity(work.work_id, work.lock_token, count_delivery=False)
            except ProviderError as error:  # the lease expires instead
                activity_log.warning("could not release activity work %s: %s", work.work_id, error)
        if len(leased) < reserved:
            self._loop.slot_freed()

    def cancel_local(self, instance_id: str, activity_ids: list[int]) -> None:
        """Tell running activities of this process that they are no longer wanted (all of the
        instance's when ``activity_ids`` is empty)."""
        for work_id in tuple(self._running_of.get(instance_id, ())):
            _, work, context = self._running[work_id]
            if not activity_ids or work.activity.event_id in activity_ids:
                context._cancel()

    async def stop(self, timeout_ms: int) -> None:
        """Let running activities finish until the timeout, then abandon the rest (not counted)."""
        self._loop.request_stop()
        tasks = [task for task, _, _ in self._running.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_ms / 1000)
        self._cancelling = True
        for task, work, context in list(self._running.values()):
            context._cancel()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            try:
                await self._provider.abandon_activity(work.work_id, work.lock_token, count_delivery=False)
            except ProviderError as error:  # the lease expires instead
                activity_log.warning("could not release activity work %s: %s", work.work_id, error, extra=context._fields())
        if self._renewals is not None:
            self._renewals.close()
        await self._completer.close()
        self._threads.shutdown(wait=False, cancel_futures=True)

    def _context(self, work: ActivityWork) -> ActivityContext:
        a = work.activity
        return ActivityContext(
            instance_id=work.instance_id,
            execution_id=a.execution_id,
            orchestration_name=a.orchestration_name,
            orchestration_version=a.orchestration_version,
            activity_name=a.name,
            activity_id=a.event_id,
            attempt=a.attempt,
            worker_id=self._options.worker_id,
        )

    async def _execute_guarded(self, work: ActivityWork, context: ActivityContext, leased_here: bool) -> None:
        self._stats.activities_running += 1
        try:
            await self._execute(work, context, leased_here)
        except asyncio.CancelledError:
            raise
        except ProviderError as error:  # the lease expires and the work is delivered again
            activity_log.warning("activity work %s failed in the store: %s", work.work_id, error, extra=context._fields())
        except Exception:  # noqa: BLE001 - the lease expires and the work is delivered again
            activity_log.exception("activity work %s failed in the runtime", work.work_id, extra=context._fields())
        finally:
            self._stats.activities_running -= 1
            self._forget(work)
            self._loop.slot_freed()

    def _forget(self, work: ActivityWork) -> None:
        """``work`` no longer runs here."""
        if self._running.pop(work.work_id, None) is None:
            return
        ids = self._running_of.get(work.instance_id)
        if ids is not None:
            ids.discard(work.work_id)
            if not ids:
                del self._running_of[work.instance_id]

    async def _execute(self, work: ActivityWork, context: ActivityContext, leased_here: bool) -> None:
        activity = work.activity
        if work.unreadable is not None:
            failure = FailureDetails("UnreadableRowError", f"{work.unreadable}; the activity was failed without running")
            activity_log.error("%s", failure.message, extra=context._fields())
            await self._complete(work, ActivityFailed(activity.event_id, failure), context)
            return
        fn = self._registry.get_activity(activity.name)
        if work.delivery_count > self._options.max_delivery_attempts:
            failure = FailureDetails(
                "PoisonMessageError",
                f"activity '{activity.name}' was delivered {work.delivery_count} times without completing "
                f"(max_delivery_attempts is {self._options.max_delivery_attempts}); it was set aside",
            )
            await self._complete(work, ActivityFailed(activity.event_id, failure), context)
            return
        if fn is None:
            delay = redelivery_delay_ms(work.delivery_count)
            activity_log.warning(
                "activity '%s' is not registered in this process; retrying in %d ms", activity.name, delay,
                extra=context._fields(),
            )
            await self._provider.abandon_activity(work.work_id, work.lock_token, delay)
            return
        if self._renewals is None:
            self._renewals = Renewals(self._renew_interval_s())
        renewal = self._renewals.start(lambda: self._renew_while_running(work, context))
        try:
            async with self._slots:
                started = time.perf_counter()
                body = await self._invoke(fn, context, activity.input, activity.event_id)
                self._run_times.add(time.perf_counter() - started)
        finally:
            await renewal.stop()
        await self._complete(work, body, context, leased_here)

    async def _invoke(
        self, fn: Callable[..., Any], context: ActivityContext, input: Any, event_id: int
    ) -> ActivityCompleted | ActivityFailed:
        args = (context, input) if takes_input(fn) else (context,)
        try:
            if inspect.iscoroutinefunction(fn):
                value = await fn(*args)
            else:
                loop = asyncio.get_running_loop()
                value = await loop.run_in_executor(self._threads, functools.partial(fn, *args))
            return ActivityCompleted(event_id, normalize(value, f"the result of activity '{context.activity_name}'"))
        except KeyboardInterrupt:
            raise  # Ctrl-C belongs to the process, wherever it lands
        except asyncio.CancelledError as error:
            if self._cancelled_by_runtime():
                raise  # shutdown: the work is abandoned, and another process runs it
            return ActivityFailed(event_id, failure_of(error))
        except BaseException as error:  # noqa: BLE001 - sys.exit() and the like end this attempt, not the process
            return ActivityFailed(event_id, failure_of(error))

    def _cancelled_by_runtime(self) -> bool:
        """Whether the CancelledError being handled comes from the runtime (``stop``, or the event
        loop closing) rather than from the activity's own code, which only fails its attempt."""
        if self._cancelling:
            return True
        task = asyncio.current_task()
        cancelling = getattr(task, "cancelling", None)  # Python 3.11+: counts cancel() calls on the task
        return cancelling is not None and cancelling() > 0

    async def _complete(
        self, work: ActivityWork, body: ActivityCompleted | ActivityFailed, context: ActivityContext, leased_here: bool = False
    ) -> None:
        """Store the result: with the turn it unblocks when the activity was leased by this
        process's commit and the instance can be had here, else on its own."""
        message = Message(work.instance_id, body, work.activity.execution_id)
        self._completing.add(work.work_id)
        self._loop.slot_freed()
        try:
            accepted = leased_here and self.deliver_locally is not None and await self.deliver_locally(work, message)
            if not accepted:
                accepted = await self._submit_completion(ActivityCompletion(work.work_id, work.lock_token, message), context)
        finally:
            self._completing.discard(work.work_id)
        if isinstance(body, ActivityFailed):
            self._stats.activities_failed += 1
            activity_log.info("activity failed: %s: %s", body.failure.error_type, body.failure.message, extra=context._fields())
        else:
            self._stats.activities_completed += 1
        if not accepted:
            activity_log.info("result of activity dropped: the work is no longer wanted or its lock moved on", extra=context._fields())

    async def _submit_completion(self, completion: ActivityCompletion, context: ActivityContext) -> bool:
        """Store the result, trying again while the store says it may succeed (a busy file, a
        dropped connection), so a finished activity is not run again just for a blip."""
        delay = 0.05
        for attempt in range(1, _COMPLETION_ATTEMPTS + 1):
            try:
                return await self._completer.submit(completion)
            except ProviderError as error:
                if not error.retryable or attempt == _COMPLETION_ATTEMPTS:
                    raise
                activity_log.warning("storing the result failed (%s); trying again", error, extra=context._fields())
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")

    def _renew_interval_s(self) -> float:
        """A third of the lock timeout (at least 50 ms)."""
        return max(self._options.worker_lock_timeout_ms / 3, 50) / 1000

    async def _renew_while_running(self, work: ActivityWork, context: ActivityContext) -> None:
        """Renew the lease now and then a third of the way through each lock timeout; stop (and
        cancel the activity) once the store says it is no longer wanted. A store error skips one
        renewal instead of ending them, which would let the lease lapse and another worker run it
        again."""
        interval = self._renew_interval_s()
        while True:
            try:
                wanted = await self._provider.renew_activity_lock(
                    work.work_id, work.lock_token, self._options.worker_lock_timeout_ms
                )
            except Exception:  # noqa: BLE001 - store trouble: try again at the next interval
                activity_log.warning("could not renew the activity's lock; trying again", exc_info=True, extra=context._fields())
                continue
            if not wanted:
                context._cancel()
                return
            await asyncio.sleep(interval)


class _RunTimes:
    """A running mean of how long activities take, each new one weighing a tenth: one long
    activity is enough to count them as long for a while. It starts at ``initial_s``."""

    def __init__(self, initial_s: float):
        self.mean_s = initial_s

    def add(self, seconds: float) -> None:
        self.mean_s += (seconds - self.mean_s) / 10


def failure_of(error: BaseException) -> FailureDetails:
    """The failure of an attempt whose code raised ``error``; a BaseException with no message of
    its own (``sys.exit()``, a bare ``CancelledError``) gets one that says what happened."""
    failure = FailureDetails.from_exception(error)
    if isinstance(error, SystemExit):
        code = "" if error.code is None else repr(error.code)
        message = f"the activity called sys.exit({code}), which fails the attempt, not the process"
    elif failure.message or isinstance(error, Exception):
        return failure
    else:
        message = f"the activity's code raised {failure.error_type}"
    return FailureDetails(failure.error_type, message, failure.details)
