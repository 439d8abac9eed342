"""The orchestration dispatcher: fetch locked instances, run their turns, commit them."""

from __future__ import annotations

import asyncio

from ..clock import Clock
from ..errors import ProviderError
from ..history import HistoryEvent
from ..model.options import RuntimeOptions
from ..model.registry import Registry
from ..providers.base import (
    TERMINAL_STATUSES,
    CommitResult,
    OrchestrationWork,
    Provider,
    TurnCommit,
)
from ..replay import Replayer
from ..replay.endings import cancelled_by
from .batcher import Batcher
from .cache import GeneratorCache
from .codeless import CodelessTurns, cancel_requested, redelivery_delay, start_of
from .fetch_loop import FetchLoop
from .local_activities import LocalActivities, LocalDelivery, LocalResult, TurnAhead
from .logs import orchestration_log
from .resolution import Resolved, pin_version, resolve
from .scope import InstanceScope
from .stats import RuntimeStats
from .turn_commit import TurnCommitter
from .turn_threads import TurnThreads

_COMMITS_WAITING_PER_SLOT = 4
"""How many turns per ``orchestration_concurrency`` slot may wait for their commit without taking one."""

_FETCHED_PER_THREAD = 8
"""A fetch takes up to this many instances per turn thread; the turns beyond the threads wait for
one. Each fetch and each commit is a store transaction, and a commit pays one sync however many
turns it carries, so taking instances a few threads' worth at a time is what raises the rate
under load (a turn itself takes well under a millisecond)."""


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
        self._in_flight: dict[str, tuple[asyncio.Task[None], OrchestrationWork | None]] = {}
        """Instances whose turn runs here, with the work its lock holds (None: a turn whose commit
        takes the lock itself)."""
        self._fetch_ended: asyncio.Future[None] | None = None
        """Set while a fetch is on its way: settled once it has returned."""
        self._fetched_meanwhile: dict[str, tuple[OrchestrationWork, int]] = {}
        """Work a fetch locked while the instance's turn without a lock ran (and when its lease
        began): that commit is then refused, and the turn goes on under this lock."""
        self.local_results = LocalDelivery(
            provider, registry, options, self.cache, self._can_take_result, self._launch_free, self._launch_local,
        )
        """Where the activity worker sends the results of the activities this process's commits leased."""
        self._local_turns = 0
        """Turns in flight for results held here (``_launch_local``)."""
        self._fetched_at_ms = 0
        """When the latest fetch was asked for: its leases run from no earlier than this."""
        self._loop: FetchLoop[OrchestrationWork] = FetchLoop(
            provider, "orchestrator", self._fetch_capacity(), options.poll_interval_ms,
            self._busy, self._fetch, self._launch,
        )
        self._commits = TurnCommitter(
            provider, registry, options, stats, self.cache, self._committer, activities, scope,
            self._loop.slot_freed, self._loop.wake,
        )

    # -- the loop -------------------------------------------------------------------------------
    async def run(self) -> None:
        """Fetch and dispatch until ``request_stop``; the caller owns this task."""
        await self._loop.run()

    def request_stop(self) -> None:
        """Fetch no more work."""
        self._loop.request_stop()

    def _busy(self) -> int:
        """Slots of the fetch taken: a turn waiting only for its commit takes none (up to a bound),
        so the next turns run while a commit syncs and group commit has turns to group; nor does
        a turn for a result held here, which has slots of its own (``_can_take_result``)."""
        waiting = min(len(self._commits.committing), _COMMITS_WAITING_PER_SLOT * self._options.orchestration_concurrency)
        return max(0, len(self._in_flight) - self._local_turns - waiting)

    async def _fetch(self, limit: int) -> list[OrchestrationWork]:
        options = self._options
        self._fetched_at_ms = self._clock.now_ms()
        ended = self._fetch_ended = asyncio.get_running_loop().create_future()
        try:
            return await self._provider.fetch_orchestration_work(
                limit,
                options.orchestrator_lock_timeout_ms,
                options.worker_id,
                self.cache.known(),
                instance_ids=None if self._scope is None else self._scope.ids(),
            )
        finally:  # its waiters run after the fetch loop has launched what it found
            self._fetch_ended = None
            ended.set_result(None)

    def _launch(self, work: OrchestrationWork, leased_from_ms: int | None = None) -> None:
        instance_id = work.instance.instance_id
        leased_from = self._fetched_at_ms if leased_from_ms is None else leased_from_ms
        entry = self._in_flight.get(instance_id)
        if entry is not None and entry[1] is None:  # its turn without a lock runs: that turn takes this one
            self._fetched_meanwhile[instance_id] = (work, leased_from)
            return
        task = asyncio.create_task(self._process_guarded(work, leased_from))
        self._in_flight[instance_id] = (task, work)

    async def stop(self, timeout_ms: int) -> None:
        """Let running turns finish until the timeout, then abandon the rest (not counted)."""
        self._loop.request_stop()
        tasks = [task for task, _ in self._in_flight.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_ms / 1000)
        for instance_id, (task, work) in list(self._in_flight.items()):
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            if work is None:  # no lock was taken
                continue
            try:
                await self._provider.abandon_orchestration(instance_id, work.lock_token, count_delivery=False)
            except ProviderError as error:  # the lock expires instead
                orchestration_log.warning("could not release the lock of %s: %s", instance_id, error, extra={"instance_id": instance_id})
        await self._committer.close()
        self.cache.clear()
        self._turn_threads.shutdown()

    async def _process_guarded(
        self, work: OrchestrationWork, leased_from_ms: int, local: LocalResult | None = None, ahead: TurnAhead | None = None
    ) -> None:
        instance_id = work.instance.instance_id
        try:
            await self._process(work, leased_from_ms, local, ahead)
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
                self._local_turns -= 1
                local.settle(False)  # not committed with a turn: its worker stores it as usual
            self._done(instance_id)

    def _done(self, instance_id: str) -> None:
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
        """Whether a turn of ``instance_id`` for a result held here may start now: while fewer such
        turns run than the fetch has slots, however many the fetched work takes. They have slots
        of their own, so under load results stay out of the store's queue (stored alone, then
        fetched again, each costs two more transactions' work) and neither kind of work holds
        off the other."""
        return not (
            self._loop.stopping
            or instance_id in self._in_flight
            or instance_id in self.excluded
            or self._local_turns >= self._fetch_capacity()
        )

    def _fetch_capacity(self) -> int:
        return self._options.orchestration_concurrency * _FETCHED_PER_THREAD

    def _launch_local(self, locked: OrchestrationWork, local: LocalResult, ahead: TurnAhead | None) -> None:
        self._local_turns += 1
        task = asyncio.create_task(self._process_guarded(locked, self._clock.now_ms(), local, ahead))
        self._in_flight[locked.instance.instance_id] = (task, locked)

    def _launch_free(self, local: LocalResult, ahead: TurnAhead) -> None:
        task = asyncio.create_task(self._commit_free_guarded(local, ahead))
        self._in_flight[local.work.instance_id] = (task, None)

    async def _commit_free_guarded(self, local: LocalResult, ahead: TurnAhead) -> None:
        """Commit the turn run ahead on the cached generator, its commit taking the instance's
        lock; when that is refused, lock the instance and go on there (``_process``). Failing
        that, ``local`` settles False and its worker stores the result as usual."""
        instance_id = local.work.instance_id
        kept = False
        """The generator went to the cache or on to the locked turn."""
        try:
            result = await ahead.run(self._turn_threads)
            if result is not None:  # else the code did not yield in time: it is failed under the lock
                kept = await self._commits.commit_free(instance_id, ahead, result, local)
                if kept:
                    return
            locked = await self._lock_after_refusal(instance_id, ahead)
            if locked is not None:
                work, leased_from_ms = locked
                self._in_flight[instance_id] = (asyncio.create_task(self._process_guarded(work, leased_from_ms, local, ahead)), work)
                kept = True
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - its worker stores the result as usual
            self.cache.evict(instance_id)
            orchestration_log.warning(
                "turn of %s without its lock failed: %s", instance_id, error, extra={"instance_id": instance_id}
            )
        finally:
            if not kept:
                ahead.discard()
                self.cache.forget(instance_id)  # no longer announce the events before the turn
                local.settle(False)
            self._done(instance_id)
            fetched = self._fetched_meanwhile.pop(instance_id, None)
            if fetched is not None:  # fetched after the commit, or while it failed: its own turn
                self._launch(*fetched)

    async def _lock_after_refusal(self, instance_id: str, ahead: TurnAhead) -> tuple[OrchestrationWork, int] | None:
        """The instance locked for a turn whose commit taking the lock was refused (and when that
        lease began): the work a fetch here took meanwhile, else ``lock_instance``'s, else None."""
        fetched = self._fetched_meanwhile.pop(instance_id, None)
        if fetched is not None:
            return fetched
        locked = await self.local_results.lock(instance_id, ahead)
        if locked is not None:
            return locked, self._clock.now_ms()
        if self._fetch_ended is not None:  # a fetch on its way may hold it: what it took is parked
            await asyncio.shield(self._fetch_ended)
        return self._fetched_meanwhile.pop(instance_id, None)

    # -- one turn ---------------------------------------------------------------------------------
    async def _process(
        self, work: OrchestrationWork, leased_from_ms: int, local: LocalResult | None = None, ahead: TurnAhead | None = None
    ) -> None:
        instance = work.instance
        if ahead is not None:  # a turn run ahead, whose commit taking the lock was refused
            if local is not None and ahead.continues(work) and local.fits(work, self._options.max_delivery_attempts):
                return await self._continue_ahead(work, local, ahead)
            ahead.discard()  # the store moved on: replay from it
            orchestration_log.warning(
                "turn of %s was refused: the instance moved on while the turn ran without its lock"
                " (another process took it over, or it was reset or ended)",
                instance.instance_id, extra={"instance_id": instance.instance_id},
            )
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
            await self._turn(work, replayer, resolved, recorded, local, leased_from_ms)
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
        leased_from_ms: int,
    ) -> None:
        """Run the turn once a thread is free and commit it; the replayer is then cached, or closed
        if it finished or the lock moved on."""
        instance = work.instance
        messages = [pin_version(q.message, resolved.version) for q in work.messages]
        if local is not None:
            messages.append(local.message)  # after what was queued before it
        recorded_count = replayer.event_count + len(recorded)
        async with self._turn_threads.slot():
            if self._lease_half_gone(leased_from_ms):
                orchestration_log.warning(
                    "the turn of %s waited for a thread through half its lease; released to be fetched again",
                    instance.instance_id, extra={"instance_id": instance.instance_id},
                )
                replayer.close()
                await self._provider.abandon_orchestration(instance.instance_id, work.lock_token, count_delivery=False)
                return  # a result it carried is stored alone by its worker (``local.settle(False)``)
            result = await self._turn_threads.run(replayer, recorded, messages)
        if result is None:
            result = self._turn_threads.timed_out(replayer, resolved.started, recorded_count, instance.custom_status)
        await self._commits.commit(work, replayer, resolved, result, local)

    async def _continue_ahead(self, work: OrchestrationWork, local: LocalResult, ahead: TurnAhead) -> None:
        """Commit the turn run ahead under the lock, which found the history as that turn assumed:
        the messages queued meanwhile go to the same generator in a second turn, committed with it."""
        replayer, resolved = ahead.replayer, ahead.resolved
        try:
            result = ahead.result
            assert result is not None
            if work.messages:
                messages = [pin_version(q.message, resolved.version) for q in work.messages]
                async with self._turn_threads.slot():
                    then = await self._turn_threads.run(replayer, [], messages)
                if then is None:
                    result = self._turn_threads.timed_out(replayer, resolved.started, ahead.event_count, work.instance.custom_status)
                else:
                    result = ahead.merged(then)
            await self._commits.commit(work, replayer, resolved, result, local)
        except BaseException:
            replayer.close()
            raise

    def _lease_half_gone(self, leased_from_ms: int) -> bool:
        """Whether a turn waited for a thread through half of its instance's lease (turns stuck in
        user code hold the threads). It is then released, not counted as a delivery, instead of
        run: fetched again, it gets a fresh lease, where this one might run out before its commit."""
        return self._clock.now_ms() - leased_from_ms > self._options.orchestrator_lock_timeout_ms / 2
