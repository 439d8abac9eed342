"""The orchestration dispatcher: fetch locked instances, run their turns, commit them."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from ..clock import Clock
from ..errors import ProviderError
from ..history import HistoryEvent, OrchestrationStarted
from ..model.options import RuntimeOptions
from ..model.registry import Registry
from ..providers.base import (
    TERMINAL_STATUSES,
    ActivityLease,
    CommitResult,
    HeldWork,
    OrchestrationWork,
    Provider,
    TurnCommit,
)
from ..replay import Replayer, TurnResult
from ..replay.endings import cancelled_by
from .batcher import Batcher
from .cache import GeneratorCache
from .codeless import CodelessTurns, cancel_requested, redelivery_delay, start_of
from .fetch_loop import FetchLoop
from .local_activities import LocalActivities, LocalDelivery, LocalResult, TurnAhead
from .logs import instance_fields, log_turn, orchestration_log
from .resolution import Resolved, pin_version, resolve
from .scope import InstanceScope, children_started
from .stats import RuntimeStats
from .turn import build_commit
from .turn_threads import TurnThreads

_COMMITS_WAITING_PER_SLOT = 4
"""How many turns per ``orchestration_concurrency`` slot may wait for their commit without taking one."""


class OrchestrationDispatcher:
    """Runs turns for up to ``orchestration_concurrency`` instances at once."""

    def __init__(
        self,
        provider: Provider,
        registry: Registry,
        options: RuntimeOptions,
        clock: Clock,
        stats: RuntimeStats,
        activities: LocalActivities,
        scope: InstanceScope | None = None,
    ):
        self._provider = provider
        self._registry = registry
        self._options = options
        self._clock = clock
        self._stats = stats
        self._activities = activities
        self._scope = scope
        self.cache = GeneratorCache(options.cache_size)
        self.excluded: dict[str, str] = {}
        """Instances held back (id -> why): never dispatched, abandoned whenever fetched."""
        self._committer: Batcher[TurnCommit, CommitResult] = Batcher(provider.commit_turns_leasing)
        self._codeless = CodelessTurns(provider, registry, options, clock, stats, self._committer, self.cache)
        self._turn_threads = TurnThreads(options, clock)
        self._in_flight: dict[str, tuple[asyncio.Task[None], OrchestrationWork]] = {}
        self._committing: set[str] = set()
        """Instances of ``_in_flight`` whose turn has run and waits for its commit."""
        self.local_results = LocalDelivery(
            provider, registry, options, self.cache, self._turn_threads, self._can_take_result, self._launch_local
        )
        """Where the activity worker sends the results of the activities this process's commits leased."""
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
            try:
                await self._provider.abandon_orchestration(instance_id, work.lock_token, count_delivery=False)
            except ProviderError as error:  # the lock expires instead
                orchestration_log.warning("could not release the lock of %s: %s", instance_id, error, extra={"instance_id": instance_id})
        await self._committer.close()
        self.cache.clear()
        self._turn_threads.shutdown()

    async def _process_guarded(
        self, work: OrchestrationWork, local: LocalResult | None = None, ahead: TurnAhead | None = None
    ) -> None:
        instance_id = work.instance.instance_id
        try:
            await self._process(work, local, ahead)
        except asyncio.CancelledError:
            raise
        except ProviderError as error:  # store trouble: release the lock, retry after a back-off
            self.cache.evict(instance_id)
            delay = redelivery_delay(work)
            orchestration_log.warning(
                "turn of %s failed: %s; retrying in %d ms", instance_id, error, delay, extra={"instance_id": instance_id}
            )
            await self._abandon_after_error(work, delay)
        except Exception:  # noqa: BLE001 - a fault in the runtime: the same, with its traceback
            self.cache.evict(instance_id)
            delay = redelivery_delay(work)
            orchestration_log.exception(
                "turn of %s failed in the runtime; retrying in %d ms", instance_id, delay, extra={"instance_id": instance_id}
            )
            await self._abandon_after_error(work, delay)
        finally:
            if local is not None:
                local.settle(False)  # not committed with a turn: its worker stores it as usual
            if ahead is not None:
                ahead.abandon()  # unless its turn was taken to commit
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

    # -- an activity result that stays in this process --------------------------------------------
    def _can_take_result(self, instance_id: str) -> bool:
        """Whether a turn of ``instance_id`` for a result held here may start now."""
        return not (
            self._loop.stopping
            or instance_id in self._in_flight
            or instance_id in self.excluded
            or self._busy() >= self._options.orchestration_concurrency
        )

    def _launch_local(self, locked: OrchestrationWork, local: LocalResult, ahead: TurnAhead | None) -> None:
        task = asyncio.create_task(self._process_guarded(locked, local, ahead))
        self._in_flight[locked.instance.instance_id] = (task, locked)

    # -- one turn ---------------------------------------------------------------------------------
    async def _process(
        self, work: OrchestrationWork, local: LocalResult | None = None, ahead: TurnAhead | None = None
    ) -> None:
        instance = work.instance
        if ahead is not None:
            if local is not None and ahead.matches(work) and local.fits(work, self._options.max_delivery_attempts):
                return await self._commit_ahead(work, local, ahead)
            await ahead.discard()  # the store saw more than the turn assumed: replay from the store
        if local is not None and not local.fits(work, self._options.max_delivery_attempts):
            local = None  # its worker stores it as usual
            if not work.messages and work.unreadable is None:  # nothing else to do: let go at once
                await self._provider.abandon_orchestration(instance.instance_id, work.lock_token, count_delivery=False)
                return
        if work.unreadable is not None:
            await self._codeless.set_aside_unreadable(work)
            return
        if instance.status in TERMINAL_STATUSES:
            await self._codeless.drop_messages_of_finished(work)
            return
        poisoned = [q for q in work.messages if q.delivery_count > self._options.max_delivery_attempts]
        if poisoned:
            await self._codeless.fail_poisoned(work, poisoned[0].delivery_count)
            return
        if instance.instance_id in self.excluded and instance.held is None:
            del self.excluded[instance.instance_id]  # the hold was lifted in the store: a reset began a new execution
        if instance.instance_id in self.excluded:
            # held back: its code would diverge, so it runs none; cancelling needs no code. The
            # hold shows as the instance's ``held`` (Runtime.hold_back), not as its error.
            cancel = cancel_requested(work)
            if cancel is not None:
                return await self._codeless.end_without_code(work, cancelled_by(cancel))
            await self._provider.abandon_orchestration(instance.instance_id, work.lock_token, 1000, count_delivery=False)
            return

        replayer = self.cache.take(
            instance.instance_id, instance.incarnation, instance.execution_id, work.history_after, len(work.history)
        )
        recorded = work.history
        if replayer is None:
            if work.history_after:
                recorded = await self._provider.read_history(instance.instance_id, instance.execution_id)
            resolved = resolve(self._registry, start_of(work, recorded), instance.version)
            if resolved is None:
                cancel = cancel_requested(work)
                if cancel is not None and start_of(work, recorded) is not None:
                    return await self._codeless.end_without_code(work, cancelled_by(cancel))
                return await self._codeless.abandon_unregistered(work, recorded)
            replayer = Replayer(resolved.fn, instance.instance_id, instance.execution_id)
        else:
            recorded = recorded[replayer.event_count - work.history_after :]  # what it has not seen
            resolved = resolve(self._registry, start_of(work, replayer.history), instance.version)
            assert resolved is not None
        try:
            await self._turn(work, replayer, resolved, recorded, local)
        except BaseException:
            replayer.close()  # taken from the cache or new: on a failure it is neither committed nor kept
            raise

    async def _turn(
        self,
        work: OrchestrationWork,
        replayer: Replayer,
        resolved: Resolved,
        recorded: list[HistoryEvent],
        local: LocalResult | None,
    ) -> None:
        """Run the turn and commit it; the replayer is then cached, or closed if it finished or the lock moved on."""
        instance = work.instance
        messages = [pin_version(q.message, resolved.version) for q in work.messages]
        if local is not None:
            messages.append(local.message)  # after what was queued before it
        recorded_count = replayer.event_count + len(recorded)
        result = await self._turn_threads.run(replayer, recorded, messages)
        if result is None:
            result = self._turn_threads.timed_out(replayer, resolved.started, recorded_count, instance.custom_status)
        await self._commit(work, replayer, resolved, result, local)

    async def _commit_ahead(self, work: OrchestrationWork, local: LocalResult, ahead: TurnAhead) -> None:
        """Commit the turn run ahead of the lock, which found the instance as that turn assumed."""
        try:
            result = await ahead.take()
            if result is None:
                started = ahead.resolved.started
                result = self._turn_threads.timed_out(ahead.replayer, started, ahead.event_count, work.instance.custom_status)
            await self._commit(work, ahead.replayer, ahead.resolved, result, local)
        except BaseException:
            ahead.replayer.close()
            raise

    async def _commit(
        self, work: OrchestrationWork, replayer: Replayer, resolved: Resolved, result: TurnResult, local: LocalResult | None
    ) -> None:
        """Commit a turn's result, leasing what it schedules to this process as far as there is room."""
        instance = work.instance
        log_turn(instance.instance_id, instance.execution_id, resolved.started.name, resolved.version, result)
        commit = build_commit(
            instance_id=instance.instance_id,
            lock_token=work.lock_token,
            execution_id=instance.execution_id,
            started=resolved.started,
            result=result,
            consumed=[q.message_id for q in work.messages],
            latest_version=self._registry.latest_version,
        )
        ends = commit.next_execution_id is not None or commit.instance.status in TERMINAL_STATUSES
        reserved = 0 if ends else self._activities.reserve(len(commit.activities))
        if local is not None or reserved:
            completed = [] if local is None else [HeldWork(local.work.work_id, local.work.lock_token)]
            lease = ActivityLease(self._options.worker_id, self._options.worker_lock_timeout_ms, reserved) if reserved else None
            commit = replace(commit, completed_work=completed, lease_activities=lease)
        self._committing.add(instance.instance_id)
        self._loop.slot_freed()
        self.cache.committing(instance.instance_id, instance.incarnation, replayer)
        committed = CommitResult("lock_lost")
        try:
            committed = await self._committer.submit(commit)
        except BaseException:
            self.cache.forget(instance.instance_id)
            raise
        finally:
            self._committing.discard(instance.instance_id)
            await self._activities.run_leased(reserved, committed.leased)
        if committed.outcome != "committed":
            self.cache.forget(instance.instance_id)
            replayer.close()
            await self._refused(work, resolved, local)
            return
        if local is not None:
            local.settle(True)
        self._after_commit(instance.instance_id, instance.incarnation, commit, replayer)
        if self._scope is not None and self._scope.add(await children_started(self._provider, instance.instance_id, commit)):
            self._loop.wake()

    async def _refused(self, work: OrchestrationWork, resolved: Resolved, local: LocalResult | None) -> None:
        instance = work.instance
        fields = instance_fields(instance.instance_id, instance.execution_id, resolved.started.name, resolved.version)
        if local is None:
            orchestration_log.warning("turn of %s was refused: its lock moved on to another process", instance.instance_id, extra=fields)
            return
        # the instance's lock or the activity's lease moved on; if the lock is still ours, let go
        orchestration_log.warning(
            "turn of %s was refused: its lock, or the lease of the activity whose result it carries, moved on;"
            " storing the result alone", instance.instance_id, extra=fields,
        )
        await self._provider.abandon_orchestration(instance.instance_id, work.lock_token, count_delivery=False)

    def _after_commit(self, instance_id: str, incarnation: str, commit: TurnCommit, replayer: Replayer) -> None:
        self._stats.turns += 1
        if commit.cancel_activities:
            self._activities.cancel_local(instance_id, list(commit.cancel_activities))
        if any(isinstance(e.body, OrchestrationStarted) for e in commit.new_events) and commit.execution_id == 1:
            self._stats.instances_started += 1
        status = commit.instance.status
        if status in TERMINAL_STATUSES:
            self._activities.cancel_local(instance_id, [])
            setattr(self._stats, f"instances_{status.lower()}", getattr(self._stats, f"instances_{status.lower()}") + 1)
        if replayer.finished:
            self.cache.forget(instance_id)
            replayer.close()
        else:
            self.cache.put(instance_id, incarnation, replayer)

