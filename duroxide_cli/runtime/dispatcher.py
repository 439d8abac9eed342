"""The orchestration dispatcher: fetch locked instances, run their turns, commit them."""

from __future__ import annotations

import asyncio

from ..clock import Clock
from ..errors import ProviderError
from ..model.options import RuntimeOptions
from ..model.registry import Registry
from ..providers.base import (
    CommitResult,
    OrchestrationWork,
    Provider,
    TurnCommit,
)
from .batcher import Batcher
from .cache import GeneratorCache
from .codeless import CodelessTurns, redelivery_delay
from .fetch_loop import FetchLoop
from .local_activities import LocalActivities, LocalDelivery, LocalResult, TurnAhead
from .logs import orchestration_log
from .scope import InstanceScope
from .stats import RuntimeStats
from .turn_commit import RelayedTurn, TurnCommitter, commit_relay_of
from .turn_threads import TurnThreads
from .turns import Turns

_COMMITS_WAITING_PER_SLOT = 4
"""How many turns per ``orchestration_concurrency`` slot may wait for their commit without taking one."""

_FETCHED_PER_THREAD = 8
"""A fetch takes up to this many instances per turn thread; the turns beyond the threads wait for
one. Each fetch and each commit is a store transaction, and a commit pays one sync however many
turns it carries, so taking instances a few threads' worth at a time is what raises the rate
under load (a turn itself takes well under a millisecond)."""

_LOCAL_TURNS_PER_FETCH_SLOT = 2
"""Turns for results held here may run (most of them waiting for their group commit) up to this
many times the fetch's slots. With a budget only as large as the fetch's, a quarter of ``hello``'s
results found it full and were stored alone and fetched again, which costs the store thread and
the event loop a transaction's work more per instance than committing them with their turn. The
worker's own bound on the activities it holds bounds these turns anyway."""


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
        self._relay = commit_relay_of(provider)
        """The store's way to take a turn's commit straight from its turn thread (None: it has none)."""
        self._turns = Turns(
            provider, registry, options, clock, self.cache, self._codeless, self._turn_threads, self._commits
        )

    @property
    def excluded(self) -> dict[str, str]:
        """Instances held back (id -> why): never dispatched, abandoned whenever fetched."""
        return self._turns.excluded

    @excluded.setter
    def excluded(self, held_back: dict[str, str]) -> None:
        self._turns.excluded = held_back

    # -- the loop -------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Start the turn threads, so that the first turn does not wait for them."""
        self._turn_threads.start()

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
            await self._release(instance_id, work)
        for instance_id, (work, _) in list(self._fetched_meanwhile.items()):  # locked for turns that ended
            await self._release(instance_id, work)
        self._fetched_meanwhile.clear()
        await self._committer.close()
        self.cache.clear()
        self._turn_threads.shutdown()

    async def _release(self, instance_id: str, work: OrchestrationWork) -> None:
        try:
            await self._provider.abandon_orchestration(instance_id, work.lock_token, count_delivery=False)
        except ProviderError as error:  # the lock expires instead
            orchestration_log.warning("could not release the lock of %s: %s", instance_id, error, extra={"instance_id": instance_id})

    async def _process_guarded(
        self, work: OrchestrationWork, leased_from_ms: int, local: LocalResult | None = None, ahead: TurnAhead | None = None
    ) -> None:
        instance_id = work.instance.instance_id
        try:
            await self._turns.process(work, leased_from_ms, local, ahead)
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
        turns run than twice the fetch's slots, however many the fetched work takes. They have slots
        of their own, so under load results stay out of the store's queue (stored alone, then
        fetched again, each costs two more transactions' work) and neither kind of work holds
        off the other (``_LOCAL_TURNS_PER_FETCH_SLOT``)."""
        return not (
            self._loop.stopping
            or instance_id in self._in_flight
            or instance_id in self.excluded
            or self._local_turns >= _LOCAL_TURNS_PER_FETCH_SLOT * self._fetch_capacity()
        )

    def _fetch_capacity(self) -> int:
        return self._options.orchestration_concurrency * _FETCHED_PER_THREAD

    def _launch_local(self, locked: OrchestrationWork, local: LocalResult, ahead: TurnAhead | None) -> None:
        self._local_turns += 1
        task = asyncio.create_task(self._process_guarded(locked, self._clock.now_ms(), local, ahead))
        self._in_flight[locked.instance.instance_id] = (task, locked)

    def _launch_free(self, local: LocalResult, ahead: TurnAhead) -> None:
        relayed = None
        if self._relay is not None and not self._in_flight and self._committer.idle() and self._relay.idle():
            # the only turn here, and nothing waits for the store: there is nothing to group its
            # commit with, so its turn thread sends the commit on itself, and the turn starts now
            relayed = self._commits.start_relayed(local.work.instance_id, ahead, local, self._turn_threads, self._relay)
        self._local_turns += 1  # given back when it ends, or by the locked turn it hands on to
        task = asyncio.create_task(self._commit_free_guarded(local, ahead, relayed))
        self._in_flight[local.work.instance_id] = (task, None)

    async def _commit_free_guarded(self, local: LocalResult, ahead: TurnAhead, relayed: RelayedTurn | None) -> None:
        """Commit the turn run ahead on the cached generator, its commit taking the instance's
        lock; when that is refused, lock the instance and go on there (``Turns.process``). Failing
        that, ``local`` settles False and its worker stores the result as usual."""
        instance_id = local.work.instance_id
        kept = handed_on = False
        """The generator went to the cache or on to the locked turn; that turn (which then owns
        the local-turn slot) was started."""
        try:
            if relayed is not None and self._relay is not None:  # started by ``_launch_free``
                kept = await self._commits.end_relayed(relayed, self._turn_threads, self._relay)
                if kept:
                    return
            else:
                result = await ahead.run(self._turn_threads)
                if result is not None:  # else the code did not yield in time: it is failed under the lock
                    kept = await self._commits.commit_free(instance_id, ahead, result, local)
                    if kept:
                        return
            locked = await self._lock_after_refusal(instance_id, ahead)
            if locked is not None:
                work, leased_from_ms = locked
                self._in_flight[instance_id] = (asyncio.create_task(self._process_guarded(work, leased_from_ms, local, ahead)), work)
                kept = handed_on = True
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - its worker stores the result as usual
            self.cache.evict(instance_id)
            orchestration_log.warning(
                "turn of %s without its lock failed: %s", instance_id, error, extra={"instance_id": instance_id}
            )
        finally:
            if not handed_on:
                self._local_turns -= 1
            if not kept:
                ahead.discard()
                self.cache.forget(instance_id)  # no longer announce the events before the turn
                local.settle(False)
            self._done(instance_id)
            fetched = self._fetched_meanwhile.pop(instance_id, None)
            if fetched is not None and not self._loop.stopping:  # fetched after the commit, or while it failed: its own turn
                self._launch(*fetched)
            elif fetched is not None:  # while stopping: ``stop`` lets go of it
                self._fetched_meanwhile[instance_id] = fetched

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
