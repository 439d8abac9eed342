"""Turns that run no user code: messages for a finished instance, poison, cancels and terminates
of code that cannot run here, a turn that timed out, and work for code nobody registered."""

from __future__ import annotations

import logging

from ..clock import Clock
from ..history import CancelRequested, EventRaised, FailureDetails, HistoryEvent, OrchestrationStarted
from ..model.options import RuntimeOptions
from ..model.registry import Registry
from ..providers.base import TERMINAL_STATUSES, CommitResult, OrchestrationWork, Provider, TurnCommit
from ..replay.actions import Cancelled, Failed, TurnResult
from ..replay.endings import POISON_MESSAGE_ERROR, end_without_code
from .batcher import Batcher
from .cache import GeneratorCache
from .fetch_loop import redelivery_delay_ms
from .logs import orchestration_log
from .stats import RuntimeStats
from .turn import build_commit


class CodelessTurns:
    """What the dispatcher does with an instance whose code does not run this turn."""

    def __init__(
        self,
        provider: Provider,
        registry: Registry,
        options: RuntimeOptions,
        clock: Clock,
        stats: RuntimeStats,
        committer: Batcher[TurnCommit, CommitResult],
        cache: GeneratorCache,
    ):
        self._provider = provider
        self._registry = registry
        self._options = options
        self._clock = clock
        self._stats = stats
        self._committer = committer
        self.cache = cache

    async def drop_messages_of_finished(self, work: OrchestrationWork) -> None:
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

    async def set_aside_unreadable(self, work: OrchestrationWork) -> None:
        """Fail an instance one of whose stored rows cannot be read, without running its code or
        appending to its history (whose length cannot be trusted), consuming every locked
        message; the rest of the store carries on. A parent waiting for it is told when the start
        event could be read. A finished instance only has its messages dropped."""
        instance = work.instance
        self.cache.evict(instance.instance_id)
        every_message = [q.message_id for q in work.messages] + list(work.unreadable_message_ids)
        fields = {"instance_id": instance.instance_id}
        if instance.status in TERMINAL_STATUSES:
            orchestration_log.warning("dropped unreadable messages of %s: %s", instance.instance_id, work.unreadable, extra=fields)
            await self._provider.drop_messages(instance.instance_id, work.lock_token, every_message)
            return
        failure = FailureDetails(
            "UnreadableRowError", f"{work.unreadable}; the instance was failed without running its code"
        )
        orchestration_log.error("instance %s failed: %s", instance.instance_id, work.unreadable, extra=fields)
        started = start_of(work, work.history) if not work.history_after else None
        result = TurnResult(new_events=[], outcome=Failed(failure), custom_status=instance.custom_status)
        commit = build_commit(
            instance_id=instance.instance_id,
            lock_token=work.lock_token,
            execution_id=instance.execution_id,
            started=started or OrchestrationStarted(instance.name, instance.version, None),
            result=result,
            consumed=every_message,
            latest_version=self._registry.latest_version,
        )
        if (await self._committer.submit(commit)).outcome == "committed":
            self._stats.instances_failed += 1

    async def fail_poisoned(self, work: OrchestrationWork, deliveries: int) -> None:
        """Fail the instance without running its code; a parent waiting for it is told, as for any failure."""
        instance = work.instance
        failure = FailureDetails(
            POISON_MESSAGE_ERROR,
            f"a message of instance '{instance.instance_id}' was delivered {deliveries} times without being processed "
            f"(max_delivery_attempts is {self._options.max_delivery_attempts}); it was set aside",
        )
        orchestration_log.error(failure.message, extra={"instance_id": instance.instance_id})
        await self.end_without_code(work, Failed(failure))

    async def end_without_code(self, work: OrchestrationWork, outcome: Failed | Cancelled) -> None:
        instance = work.instance
        self.cache.evict(instance.instance_id)
        history = work.history if not work.history_after else await self._provider.read_history(instance.instance_id)
        started = start_of(work, history)
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
        if (await self._committer.submit(commit)).outcome == "committed":
            status = "instances_failed" if isinstance(outcome, Failed) else "instances_cancelled"
            setattr(self._stats, status, getattr(self._stats, status) + 1)

    async def abandon_unregistered(self, work: OrchestrationWork, history: list[HistoryEvent]) -> None:
        instance = work.instance
        started = start_of(work, history)
        name = started.name if started else instance.name
        version = (started.version if started else None) or instance.version
        what = f"orchestration '{name}'" + (f" {version}" if version else "")
        reason = f"{what} is not registered in any process that fetched it"
        if started is None:
            reason = f"instance '{instance.instance_id}' has messages but no start; waiting for its start"
        delay = redelivery_delay(work)
        orchestration_log.warning("%s; retrying in %d ms", reason, delay, extra={"instance_id": instance.instance_id})
        await self._provider.abandon_orchestration(instance.instance_id, work.lock_token, delay, reason)


def start_of(work: OrchestrationWork, history: list[HistoryEvent]) -> OrchestrationStarted | None:
    """The execution's start: its first recorded event, else its start message (None if neither)."""
    started = history[0].body if history else None
    if isinstance(started, OrchestrationStarted):
        return started
    starts = [q.message.body for q in work.messages if isinstance(q.message.body, OrchestrationStarted)]
    return starts[0] if starts else None


def cancel_requested(work: OrchestrationWork) -> CancelRequested | None:
    """The cancel among the instance's messages (a terminate before a plain cancel), if any: it
    ends an instance whose code cannot run here without running any."""
    cancels = [q.message.body for q in work.messages if isinstance(q.message.body, CancelRequested)]
    return next((c for c in cancels if c.terminate), cancels[0] if cancels else None)


def redelivery_delay(work: OrchestrationWork) -> int:
    """The back-off for an instance, counted by its most-delivered message."""
    return redelivery_delay_ms(max((q.delivery_count for q in work.messages), default=1))
