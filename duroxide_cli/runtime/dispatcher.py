"""The orchestration dispatcher: fetch locked instances, run their turns, commit them."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from ..history import (
    CancelRequested,
    EventRaised,
    FailureDetails,
    HistoryEvent,
    OrchestrationStarted,
)
from ..messages import Message
from ..model.options import RuntimeOptions
from ..model.registry import Registry
from ..providers.base import (
    TERMINAL_STATUSES,
    CommitOutcome,
    OrchestrationWork,
    Provider,
    TurnCommit,
)
from ..replay import Replayer, TurnResult
from ..replay.actions import Cancelled, Failed
from ..replay.endings import cancelled_by, end_without_code
from .batcher import Batcher
from .cache import GeneratorCache
from .clock import Clock
from .fetch_loop import FetchLoop, redelivery_delay_ms
from .logs import LEVELS, instance_fields, orchestration_log
from .scope import InstanceScope, children_started
from .stats import RuntimeStats
from .turn import build_commit, error_line

_COMMITS_WAITING_PER_SLOT = 4
"""How many turns per ``orchestration_concurrency`` slot may wait for their commit without taking one."""


@dataclass(slots=True)
class _Resolved:
    """Which code runs an instance, and its start event."""

    version: str
    fn: Callable
    started: OrchestrationStarted


class OrchestrationDispatcher:
    """Runs turns for up to ``orchestration_concurrency`` instances at once."""

    def __init__(
        self,
        provider: Provider,
        registry: Registry,
        options: RuntimeOptions,
        clock: Clock,
        stats: RuntimeStats,
        cancel_local_activities: Callable[[str, list[int]], None],
        scope: InstanceScope | None = None,
    ):
        self._provider = provider
        self._registry = registry
        self._options = options
        self._clock = clock
        self._stats = stats
        self._cancel_local_activities = cancel_local_activities
        self._scope = scope
        self.cache = GeneratorCache(options.cache_size)
        self.excluded: dict[str, str] = {}
        """Instances held back (id -> why): never dispatched, abandoned whenever fetched."""
        self._committer: Batcher[TurnCommit, CommitOutcome] = Batcher(provider.commit_turns)
        self._turn_threads = concurrent.futures.ThreadPoolExecutor(
            max_workers=options.orchestration_concurrency, thread_name_prefix="duroxide-turn"
        )
        self._in_flight: dict[str, tuple[asyncio.Task[None], OrchestrationWork]] = {}
        self._committing: set[str] = set()
        """Instances of ``_in_flight`` whose turn has run and waits for its commit."""
        self._loop: FetchLoop[OrchestrationWork] = FetchLoop(
            provider, "orchestrator", options.orchestration_concurrency, options.poll_interval_ms,
            self._busy, self._fetch, self._launch,
        )

    # -- the loop -------------------------------------------------------------------------------
    async def run(self) -> None:
        """Fetch and dispatch until ``request_stop``; the caller owns this task."""
        await self._loop.run()

    def request_stop(self) -> None:
        """Fetch no more work."""
        self._loop.request_stop()

    def _busy(self) -> int:
        """Slots taken: a turn waiting only for its commit takes none (up to a bound), so the next
        turns run while a commit syncs and group commit has turns to group."""
        waiting = min(len(self._committing), _COMMITS_WAITING_PER_SLOT * self._options.orchestration_concurrency)
        return len(self._in_flight) - waiting

    async def _fetch(self, limit: int) -> list[OrchestrationWork]:
        options = self._options
        return await self._provider.fetch_orchestration_work(
            limit,
            options.orchestrator_lock_timeout_ms,
            options.worker_id,
            self.cache.known(),
            instance_ids=None if self._scope is None else self._scope.ids(),
        )

    def _launch(self, work: OrchestrationWork) -> None:
        task = asyncio.create_task(self._process_guarded(work))
        self._in_flight[work.instance.instance_id] = (task, work)

    async def stop(self, timeout_ms: int) -> None:
        """Let running turns finish until the timeout, then abandon the rest (not counted)."""
        self._loop.request_stop()
        tasks = [task for task, _ in self._in_flight.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_ms / 1000)
        for instance_id, (task, work) in list(self._in_flight.items()):
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await self._provider.abandon_orchestration(instance_id, work.lock_token, count_delivery=False)
        await self._committer.close()
        self.cache.clear()
        self._turn_threads.shutdown(wait=False, cancel_futures=True)

    async def _process_guarded(self, work: OrchestrationWork) -> None:
        instance_id = work.instance.instance_id
        try:
            await self._process(work)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - store trouble: release the lock, retry after a back-off
            self.cache.evict(instance_id)
            delay = _redelivery_delay_ms(work)
            orchestration_log.exception(
                "turn of %s failed in the runtime; retrying in %d ms", instance_id, delay, extra={"instance_id": instance_id}
            )
            await self._abandon_after_error(work, delay)
        finally:
            entry = self._in_flight.get(instance_id)
            if entry is not None and entry[0] is asyncio.current_task():  # not a later fetch's
                del self._in_flight[instance_id]
            self._loop.slot_freed()

    async def _abandon_after_error(self, work: OrchestrationWork, delay_ms: int) -> None:
        """Release the lock (the fetch counts) so the turn is retried after ``delay_ms``, not when
        the lock expires; if the store still fails, the lock does expire."""
        instance_id = work.instance.instance_id
        try:
            await self._provider.abandon_orchestration(instance_id, work.lock_token, delay_ms)
        except Exception:  # noqa: BLE001 - already logged once; the lock expiry is the fallback
            orchestration_log.warning("could not release the lock of %s", instance_id, extra={"instance_id": instance_id})

    # -- one turn ---------------------------------------------------------------------------------
    async def _process(self, work: OrchestrationWork) -> None:
        instance = work.instance
        if instance.status in TERMINAL_STATUSES:
            await self._drop_messages_of_finished(work)
            return
        poisoned = [q for q in work.messages if q.delivery_count > self._options.max_delivery_attempts]
        if poisoned:
            await self._fail_poisoned(work, poisoned[0].delivery_count)
            return
        if instance.instance_id in self.excluded:
            # held back: its code would diverge, so it runs none; cancelling needs no code. The
            # hold shows as the instance's ``held`` (Runtime.hold_back), not as its error.
            cancel = _cancel_requested(work)
            if cancel is not None:
                return await self._end_without_code(work, cancelled_by(cancel))
            await self._provider.abandon_orchestration(instance.instance_id, work.lock_token, 1000, count_delivery=False)
            return

        replayer = self.cache.take(instance.instance_id, instance.incarnation, instance.execution_id, work.history_after)
        recorded = work.history
        if replayer is None:
            if work.history_after:
                recorded = await self._provider.read_history(instance.instance_id, instance.execution_id)
            resolved = self._resolve(work, recorded)
            if resolved is None:
                cancel = _cancel_requested(work)
                if cancel is not None and _start_of(work, recorded) is not None:
                    return await self._end_without_code(work, cancelled_by(cancel))
                return await self._abandon_unregistered(work, recorded)
            replayer = Replayer(resolved.fn, instance.instance_id, instance.execution_id)
        else:
            resolved = self._resolve(work, replayer.history)
            assert resolved is not None
        try:
            await self._turn(work, replayer, resolved, recorded)
        except BaseException:
            replayer.close()  # taken from the cache or new: on a failure it is neither committed nor kept
            raise

    async def _turn(self, work: OrchestrationWork, replayer: Replayer, resolved: _Resolved, recorded: list[HistoryEvent]) -> None:
        """Run the turn and commit it; the replayer is then cached, or closed if it finished or the lock moved on."""
        instance = work.instance
        messages = [self._pin_version(q.message, resolved.version) for q in work.messages]

        recorded_count = replayer.event_count + len(recorded)
        result = await self._run_turn(replayer, recorded, messages)
        if result is None:
            result = self._timed_out(replayer, resolved.started, recorded_count, instance.custom_status)
        self._log_turn(replayer, resolved, result)
        started = resolved.started
        commit = build_commit(
            instance_id=instance.instance_id,
            lock_token=work.lock_token,
            execution_id=instance.execution_id,
            started=started,
            result=result,
            consumed=[q.message_id for q in work.messages],
            latest_version=self._registry.latest_version,
        )
        self._committing.add(instance.instance_id)
        self._loop.slot_freed()
        try:
            outcome = await self._committer.submit(commit)
        finally:
            self._committing.discard(instance.instance_id)
        if outcome != "committed":
            replayer.close()
            orchestration_log.warning(
                "turn of %s was refused: its lock moved on to another process", instance.instance_id,
                extra=instance_fields(instance.instance_id, instance.execution_id, resolved.started.name, resolved.version),
            )
            return
        self._after_commit(instance.instance_id, instance.incarnation, commit, replayer)
        if self._scope is not None and self._scope.add(await children_started(self._provider, instance.instance_id, commit)):
            self._loop.wake()

    def _after_commit(self, instance_id: str, incarnation: str, commit: TurnCommit, replayer: Replayer) -> None:
        self._stats.turns += 1
        if commit.cancel_activities:
            self._cancel_local_activities(instance_id, list(commit.cancel_activities))
        if any(isinstance(e.body, OrchestrationStarted) for e in commit.new_events) and commit.execution_id == 1:
            self._stats.instances_started += 1
        status = commit.instance.status
        if status in TERMINAL_STATUSES:
            self._cancel_local_activities(instance_id, [])
            setattr(self._stats, f"instances_{status.lower()}", getattr(self._stats, f"instances_{status.lower()}") + 1)
        if replayer.finished:
            replayer.close()
        else:
            self.cache.put(instance_id, incarnation, replayer)

    async def _run_turn(self, replayer: Replayer, recorded: list[HistoryEvent], messages: list[Message]) -> TurnResult | None:
        """Run user code on a turn thread, so the watchdog can give up on code that never yields."""
        loop = asyncio.get_running_loop()
        now_ms = self._clock.now_ms()
        future = loop.run_in_executor(
            self._turn_threads, replayer.run_turn, recorded, messages, now_ms, lambda: str(uuid.uuid4())
        )
        try:
            return await asyncio.wait_for(future, self._options.turn_timeout_ms / 1000)
        except asyncio.TimeoutError:
            # the thread may spin forever: give the pool up and start a new one
            self._turn_threads.shutdown(wait=False)
            self._turn_threads = concurrent.futures.ThreadPoolExecutor(
                max_workers=self._options.orchestration_concurrency, thread_name_prefix="duroxide-turn"
            )
            return None

    def _timed_out(
        self, replayer: Replayer, started: OrchestrationStarted, recorded_count: int, custom_status: object
    ) -> TurnResult:
        """Fail the execution right after the ``recorded_count`` events stored before the turn: the
        stuck thread still appends to the replayer, so nothing it recorded is used."""
        failure = FailureDetails(
            "TurnTimeoutError",
            f"the orchestration did not yield for {self._options.turn_timeout_ms} ms (at {replayer.location()}); "
            "move blocking work into an activity",
        )
        replayer.outcome = Failed(failure)
        return end_without_code(recorded_count, started, Failed(failure), self._clock.now_ms(), custom_status)

    # -- resolving the code -------------------------------------------------------------------------
    def _resolve(self, work: OrchestrationWork, history: list[HistoryEvent]) -> _Resolved | None:
        started = _start_of(work, history)
        if started is None:
            return None
        version = started.version or work.instance.version
        found = self._registry.get_orchestration(started.name, version)
        if found is None:
            return None
        return _Resolved(found[0], found[1], _pinned(started, found[0]))

    @staticmethod
    def _pin_version(message: Message, version: str) -> Message:
        body = message.body
        if isinstance(body, OrchestrationStarted) and body.version is None:
            return Message(message.instance_id, _pinned(body, version), message.execution_id)
        return message

    async def _abandon_unregistered(self, work: OrchestrationWork, history: list[HistoryEvent]) -> None:
        instance = work.instance
        started = _start_of(work, history)
        name = started.name if started else instance.name
        version = (started.version if started else None) or instance.version
        what = f"orchestration '{name}'" + (f" {version}" if version else "")
        reason = f"{what} is not registered in any process that fetched it"
        if started is None:
            reason = f"instance '{instance.instance_id}' has messages but no start; waiting for its start"
        delay = _redelivery_delay_ms(work)
        orchestration_log.warning("%s; retrying in %d ms", reason, delay, extra={"instance_id": instance.instance_id})
        await self._provider.abandon_orchestration(instance.instance_id, work.lock_token, delay, reason)

    # -- special turns ----------------------------------------------------------------------------
    async def _drop_messages_of_finished(self, work: OrchestrationWork) -> None:
        """Delete what arrived for a finished instance, leaving its row as it ended (no turn)."""
        instance = work.instance
        self.cache.evict(instance.instance_id)
        for queued in work.messages:
            # an event raised too late is the user's to know of; a completion that raced the end
            # (an activity finishing as its instance completed, say) is expected
            level = logging.WARNING if isinstance(queued.message.body, EventRaised) else logging.DEBUG
            orchestration_log.log(
                level,
                "dropped %s for %s: the instance is %s",
                type(queued.message.body).__name__, instance.instance_id, instance.status,
                extra={"instance_id": instance.instance_id},
            )
        await self._provider.drop_messages(instance.instance_id, work.lock_token, [q.message_id for q in work.messages])

    async def _fail_poisoned(self, work: OrchestrationWork, deliveries: int) -> None:
        """Fail the instance without running its code; a parent waiting for it is told, as for any failure."""
        instance = work.instance
        failure = FailureDetails(
            "PoisonMessageError",
            f"a message of instance '{instance.instance_id}' was delivered {deliveries} times without being processed "
            f"(max_delivery_attempts is {self._options.max_delivery_attempts}); it was set aside",
        )
        orchestration_log.error(failure.message, extra={"instance_id": instance.instance_id})
        await self._end_without_code(work, Failed(failure))

    async def _end_without_code(self, work: OrchestrationWork, outcome: Failed | Cancelled) -> None:
        instance = work.instance
        self.cache.evict(instance.instance_id)
        history = work.history if not work.history_after else await self._provider.read_history(instance.instance_id)
        started = _start_of(work, history)
        result = end_without_code(len(history), started, outcome, self._clock.now_ms(), instance.custom_status)
        commit = build_commit(
            instance_id=instance.instance_id,
            lock_token=work.lock_token,
            execution_id=instance.execution_id,
            started=started or OrchestrationStarted(instance.name, instance.version, None),
            result=result,
            consumed=[q.message_id for q in work.messages],
            latest_version=self._registry.latest_version,
        )
        if await self._committer.submit(commit) == "committed":
            status = "instances_failed" if isinstance(outcome, Failed) else "instances_cancelled"
            setattr(self._stats, status, getattr(self._stats, status) + 1)

    def _log_turn(self, replayer: Replayer, resolved: _Resolved, result: TurnResult) -> None:
        fields = instance_fields(replayer.instance_id, replayer.execution_id, resolved.started.name, resolved.version)
        for level, message in result.traces:
            orchestration_log.log(LEVELS.get(level, 20), message, extra=fields)
        for dropped in result.dropped:
            if dropped.warn:
                orchestration_log.warning("dropped a message: %s", dropped.reason, extra=fields)
        if isinstance(result.outcome, Failed):
            orchestration_log.warning("%s failed: %s", replayer.instance_id, error_line(result.outcome.failure), extra=fields)


def _start_of(work: OrchestrationWork, history: list[HistoryEvent]) -> OrchestrationStarted | None:
    """The execution's start: its first recorded event, else its start message (None if neither)."""
    started = history[0].body if history else None
    if isinstance(started, OrchestrationStarted):
        return started
    starts = [q.message.body for q in work.messages if isinstance(q.message.body, OrchestrationStarted)]
    return starts[0] if starts else None


def _cancel_requested(work: OrchestrationWork) -> CancelRequested | None:
    """The cancel among the instance's messages (a terminate before a plain cancel), if any: it
    ends an instance whose code cannot run here without running any."""
    cancels = [q.message.body for q in work.messages if isinstance(q.message.body, CancelRequested)]
    return next((c for c in cancels if c.terminate), cancels[0] if cancels else None)


def _pinned(started: OrchestrationStarted, version: str) -> OrchestrationStarted:
    """``started`` with the version the runtime resolved, when it named none."""
    if started.version is not None:
        return started
    return OrchestrationStarted(
        started.name, version, started.input, started.parent_instance_id, started.parent_execution_id, started.parent_event_id
    )


def _redelivery_delay_ms(work: OrchestrationWork) -> int:
    """The back-off for an instance, counted by its most-delivered message."""
    return redelivery_delay_ms(max((q.delivery_count for q in work.messages), default=1))
