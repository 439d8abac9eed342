"""One turn of a locked instance: what the store's work asks for (a poison message, a finished or
held instance, code no longer registered), else the orchestration's code on a turn thread, with
the cached generator when it reaches where the store is, and the turn's commit."""

from __future__ import annotations

from ..clock import Clock
from ..history import HistoryEvent
from ..model.options import RuntimeOptions
from ..model.registry import Registry
from ..providers.base import TERMINAL_STATUSES, OrchestrationWork, Provider
from ..replay import Replayer
from ..replay.endings import cancelled_by
from .cache import GeneratorCache
from .codeless import CodelessTurns, cancel_requested, start_of
from .local_activities import LocalResult, TurnAhead
from .logs import orchestration_log
from .resolution import Resolved, pin_version, resolve
from .turn_commit import TurnCommitter
from .turn_threads import TurnThreads


class Turns:
    """Runs and commits the turn of an instance the dispatcher holds the lock of."""

    def __init__(
        self,
        provider: Provider,
        registry: Registry,
        options: RuntimeOptions,
        clock: Clock,
        cache: GeneratorCache,
        codeless: CodelessTurns,
        turn_threads: TurnThreads,
        commits: TurnCommitter,
    ):
        self._provider = provider
        self._registry = registry
        self._options = options
        self._clock = clock
        self.cache = cache
        self._codeless = codeless
        self._turn_threads = turn_threads
        self._commits = commits
        self.excluded: dict[str, str] = {}
        """Instances held back (id -> why): their code runs no turn; a cancel ends them without it."""

    async def process(
        self, work: OrchestrationWork, leased_from_ms: int, local: LocalResult | None = None, ahead: TurnAhead | None = None
    ) -> None:
        instance = work.instance
        if ahead is not None:  # a turn run ahead, whose commit taking the lock was refused
            if local is not None and ahead.continues(work) and local.fits(work, self._options.max_delivery_attempts):
                return await self._continue_ahead(work, local, ahead)
            ahead.discard()  # the store moved on, or the turn missed turn_timeout_ms: replay from it
            if ahead.result is not None:
                orchestration_log.warning(
                    "turn of %s was refused: the instance moved on while the turn ran without its lock"
                    " (another of its turns was committed first, or it was taken over, reset or ended);"
                    " it runs again from the stored history",
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
