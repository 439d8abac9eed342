"""Committing a turn: its commit built and submitted with the others in flight, what it schedules
leased to this process as far as there is room, and what follows (the cache, the statistics, the
activities it cancels)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from ..history import OrchestrationStarted
from ..model.options import RuntimeOptions
from ..model.registry import Registry
from ..providers.base import (
    TERMINAL_STATUSES,
    ActivityLease,
    CommitResult,
    HeldWork,
    OrchestrationWork,
    Provider,
    TakeLock,
    TurnCommit,
)
from ..replay import Replayer, TurnResult
from ..thread_hop import FORWARDED
from .batcher import Batcher
from .cache import GeneratorCache
from .local_activities import LocalActivities, LocalResult, TurnAhead
from .logs import instance_fields, log_turn, orchestration_log
from .resolution import Resolved
from .scope import InstanceScope, children_started
from .stats import RuntimeStats
from .turn import build_commit
from .turn_threads import TurnThreads


class CommitRelay(Protocol):
    """A store's way to take a turn's commit straight from the turn thread (the SQLite store's
    ``turn_commit_relay``; see ``providers/_sqlite/relay.py``)."""

    def idle(self) -> bool: ...

    def send(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], turns: list[TurnCommit]) -> Any: ...

    def finish(self, wake: Any) -> None: ...


def commit_relay_of(provider: Provider) -> CommitRelay | None:
    """The provider's relay, looked up on its class: a wrapper around a store (one that counts
    or fails its calls) has none, so every commit still goes through it."""
    make = getattr(type(provider), "turn_commit_relay", None)
    return None if make is None else make(provider)  # type: ignore[no-any-return]


class RelayedTurn:
    """A turn whose commit its turn thread sends to the store (``TurnCommitter.start_relayed``),
    and what that thread leaves for the event loop."""

    __slots__ = ("instance_id", "ahead", "local", "future", "result", "commit", "wake", "error")

    def __init__(self, instance_id: str, ahead: TurnAhead, local: LocalResult) -> None:
        self.instance_id = instance_id
        self.ahead = ahead
        self.local = local
        self.future: asyncio.Future[Any] | None = None
        self.result: TurnResult | None = None
        self.commit: TurnCommit | None = None
        self.wake: Any = None
        self.error: BaseException | None = None


class TurnCommitter:
    """Commits the dispatcher's turns; ``committing`` holds the instances whose commit is under way."""

    def __init__(
        self,
        provider: Provider,
        registry: Registry,
        options: RuntimeOptions,
        stats: RuntimeStats,
        cache: GeneratorCache,
        committer: Batcher[TurnCommit, CommitResult],
        activities: LocalActivities,
        scope: InstanceScope | None,
        slot_freed: Callable[[], None],
        wake: Callable[[], None],
    ):
        self._provider = provider
        self._registry = registry
        self._options = options
        self._stats = stats
        self._cache = cache
        self._committer = committer
        self._activities = activities
        self._scope = scope
        self._slot_freed = slot_freed
        self._wake = wake
        self.committing: set[str] = set()
        """Instances whose turn has run and waits for its commit."""

    async def commit(
        self, work: OrchestrationWork, replayer: Replayer, resolved: Resolved, result: TurnResult, local: LocalResult | None
    ) -> None:
        """Commit a turn's result, leasing what it schedules to this process as far as there is room."""
        instance = work.instance
        log_turn(instance.instance_id, instance.execution_id, resolved.started.name, resolved.version, result)
        commit = self._build(
            instance.instance_id, work.lock_token, instance.execution_id, resolved, result, [q.message_id for q in work.messages], local
        )
        if not await self._submit(commit, instance.incarnation, replayer, local):
            await self._refused(work, resolved, local)

    async def commit_free(
        self, instance_id: str, ahead: TurnAhead, result: TurnResult, local: LocalResult
    ) -> bool:
        """Commit a turn run without the instance's lock on its cached generator (``ahead``), the
        commit taking the lock itself if the store finds the instance as the turn assumed. False
        when the store refused it: nothing was written, and the replayer is still the caller's."""
        replayer, resolved = ahead.replayer, ahead.resolved
        commit = self._build(instance_id, "", replayer.execution_id, resolved, result, [], local, ahead)
        committed = await self._submit(commit, ahead.incarnation, replayer, local, close_refused=False)
        if committed:  # logged only now: a refused turn goes on, or runs again, and is logged then
            log_turn(instance_id, replayer.execution_id, resolved.started.name, resolved.version, result)
        return committed

    def start_relayed(self, instance_id: str, ahead: TurnAhead, local: LocalResult, turn_threads: TurnThreads, relay: CommitRelay) -> RelayedTurn | None:
        """Start the turn ``ahead`` on a free turn thread, whose commit (``commit_free``'s) is
        built there and sent from there to the store (``relay``); None when no thread is free.
        Nothing of the turn is acted on before ``end_relayed`` has the store's answer."""
        replayer, resolved = ahead.replayer, ahead.resolved
        relayed = RelayedTurn(instance_id, ahead, local)

        def then(result: TurnResult, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]) -> Any:
            relayed.result = result  # on the turn thread, from here on
            relayed.commit = self._build(instance_id, "", replayer.execution_id, resolved, result, [], local, ahead)
            try:
                relayed.wake = relay.send(loop, future, [relayed.commit])
            except BaseException as error:  # noqa: BLE001 - the store is closed: raised on the loop
                relayed.error = error
                return None
            return FORWARDED

        future = turn_threads.start_then(replayer, [], [ahead.message], then)
        if future is None:
            return None
        relayed.future = future
        self.committing.add(instance_id)
        self._slot_freed()
        return relayed

    async def end_relayed(self, relayed: RelayedTurn, turn_threads: TurnThreads, relay: CommitRelay) -> bool:
        """What ``commit_free`` says of a turn ``start_relayed`` started: True once committed;
        False when the code did not yield in time (``ahead.result`` stays None) or the store
        refused the commit."""
        instance_id, ahead, local = relayed.instance_id, relayed.ahead, relayed.local
        replayer, resolved = ahead.replayer, ahead.resolved
        committed = CommitResult("lock_lost")
        try:
            assert relayed.future is not None
            value = await turn_threads.end_then(relayed.future)
            ahead.result = relayed.result
            if relayed.error is not None:
                raise relayed.error
            if relayed.commit is None:  # timed out
                return False
            relay.finish(relayed.wake)
            (committed,) = value
        except BaseException:
            self._cache.forget(instance_id)
            raise
        finally:
            self.committing.discard(instance_id)
            commit = relayed.commit
            reserved = 0 if commit is None or commit.lease_activities is None else commit.lease_activities.limit
            await self._activities.run_leased(reserved, committed.leased)
        assert relayed.commit is not None and relayed.result is not None
        if committed.outcome != "committed":
            self._cache.forget(instance_id)
            return False
        log_turn(instance_id, replayer.execution_id, resolved.started.name, resolved.version, relayed.result)
        local.settle(True)
        self._after_commit(instance_id, ahead.incarnation, relayed.commit, replayer)
        if self._scope is not None and self._scope.add(await children_started(self._provider, instance_id, relayed.commit)):
            self._wake()
        return True

    def _build(
        self,
        instance_id: str,
        lock_token: str,
        execution_id: int,
        resolved: Resolved,
        result: TurnResult,
        consumed: list[int],
        local: LocalResult | None,
        ahead: TurnAhead | None = None,
    ) -> TurnCommit:
        return build_commit(
            instance_id=instance_id,
            lock_token=lock_token,
            execution_id=execution_id,
            started=resolved.started,
            result=result,
            consumed=consumed,
            latest_version=self._registry.latest_version,
            lease=self._lease,
            completed_work=() if local is None else [HeldWork(local.work.work_id, local.work.lock_token)],
            take_lock=None if ahead is None else TakeLock(ahead.incarnation, ahead.event_count),
        )

    def _lease(self, wanted: int) -> ActivityLease | None:
        """The lease of up to ``wanted`` activities a commit schedules to this process, as far as
        there is room (None: none)."""
        reserved = self._activities.reserve(wanted)
        return ActivityLease(self._options.worker_id, self._options.worker_lock_timeout_ms, reserved) if reserved else None

    async def _submit(
        self, commit: TurnCommit, incarnation: str, replayer: Replayer, local: LocalResult | None, close_refused: bool = True
    ) -> bool:
        """Submit ``commit`` with the others in flight and run what it leased; False (the replayer
        closed unless ``close_refused`` is False) when it was refused."""
        instance_id = commit.instance_id
        reserved = 0 if commit.lease_activities is None else commit.lease_activities.limit
        self.committing.add(instance_id)
        self._slot_freed()
        if commit.take_lock is None:  # else the events before the turn stay announced (``TurnAhead``)
            self._cache.committing(instance_id, incarnation, replayer)
        committed = CommitResult("lock_lost")
        try:
            committed = await self._committer.submit(commit)
        except BaseException:
            self._cache.forget(instance_id)
            raise
        finally:
            self.committing.discard(instance_id)
            await self._activities.run_leased(reserved, committed.leased)
        if committed.outcome != "committed":
            self._cache.forget(instance_id)
            if close_refused:
                replayer.close()
            return False
        if local is not None:
            local.settle(True)
        self._after_commit(instance_id, incarnation, commit, replayer)
        if self._scope is not None and self._scope.add(await children_started(self._provider, instance_id, commit)):
            self._wake()
        return True

    async def _refused(self, work: OrchestrationWork, resolved: Resolved, local: LocalResult | None) -> None:
        instance = work.instance
        fields = instance_fields(instance.instance_id, instance.execution_id, resolved.started.name, resolved.version)
        if local is None:
            orchestration_log.warning("turn of %s was refused: its lock moved on, or the store holds events it did not see",
                                      instance.instance_id, extra=fields)
        else:
            orchestration_log.warning(
                "turn of %s was refused: its lock, or the lease of the activity whose result it carries, moved on;"
                " storing the result alone", instance.instance_id, extra=fields,
            )
        # if the lock is still ours (the store refused the turn for another reason), let go at
        # once rather than when the lease ends; with a lock that moved on this changes nothing
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
            self._cache.forget(instance_id)
            replayer.close()
        else:
            self._cache.put(instance_id, incarnation, replayer)

