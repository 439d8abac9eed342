"""Activities that stay in this process: what the dispatcher and the activity worker tell each
other so that a step of a chain costs one synced commit.

A turn's commit leases the activities it schedules to this process, as many as the worker has
room for (``reserve``), and the worker runs them without fetching them (``run_leased``). When such
an activity finishes, the dispatcher takes its instance's lock and runs the next turn with the
result in memory (``LocalDelivery.deliver``): that turn's commit appends the result and removes
the work, so the result is acknowledged exactly when it is committed. With the instance's
generator cached, the turn runs at once and its commit takes the instance's lock itself, so a
step is one turn-thread hop and one synced commit. See docs/design-notes.md, "Activities that
stay in the process" and "Commits that take the instance's lock".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Protocol

from ..errors import ProviderError
from ..history import HistoryEvent, OrchestrationStarted
from ..messages import Message
from ..model.options import RuntimeOptions
from ..model.registry import Registry
from ..providers.base import TERMINAL_STATUSES, ActivityWork, KnownHistory, OrchestrationWork, Provider
from ..replay import Replayer, TurnResult
from .cache import GeneratorCache
from .logs import orchestration_log
from .resolution import Resolved, resolve
from .turn_threads import TurnThreads


class LocalActivities(Protocol):
    """What the dispatcher needs of the activity worker of its process."""

    def cancel_local(self, instance_id: str, activity_ids: list[int]) -> None:
        """Tell running activities of the instance that they are no longer wanted (all of them
        when ``activity_ids`` is empty)."""

    def reserve(self, wanted: int) -> int:
        """Hold up to ``wanted`` free activity slots for activities a commit will lease here; how
        many it holds (0 while stopping). Every reservation ends with ``run_leased``."""

    async def run_leased(self, reserved: int, leased: Sequence[ActivityWork]) -> None:
        """Run the activities a commit leased here (at most ``reserved``) and free the rest of the
        reservation; while stopping, give them back to the store instead."""


class LocalResult:
    """An activity's result held in memory for the turn of its instance that runs it.

    The worker that holds it waits on ``settled``: True once a turn committed it (its work item
    removed in the same transaction), False when it must store the result itself as usual."""

    def __init__(self, work: ActivityWork, message: Message):
        self.work = work
        self.message = message
        self._settled: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def fits(self, locked: OrchestrationWork, max_delivery_attempts: int) -> bool:
        """Whether a turn of ``locked`` (the instance's work, just locked) can take this result:
        the instance still runs the execution the activity belongs to, every row of it could be
        read, and none of its queued messages is poison (those take a turn of their own)."""
        instance = locked.instance
        return (
            locked.unreadable is None
            and instance.status not in TERMINAL_STATUSES
            and instance.execution_id == self.message.execution_id
            and all(q.delivery_count <= max_delivery_attempts for q in locked.messages)
        )

    def settle(self, committed: bool) -> None:
        """Say what became of the result (only the first call counts)."""
        if not self._settled.done():
            self._settled.set_result(committed)

    async def settled(self) -> bool:
        return await self._settled


class TurnAhead:
    """The turn a local result unblocks, run at once on a turn thread with the cached generator,
    without the instance's lock: its commit takes the lock itself (``TurnCommit.take_lock``), only if the
    store finds the instance just as the turn assumed -- the same incarnation and execution, no
    event past the generator, no live lock and no visible message.

    When that commit is refused, the instance is locked as usual. If the lock finds the history
    as the turn assumed, with messages queued meanwhile (results of the instance's other
    activities, an event), the same generator takes them in a second turn and both are committed
    together (``continues``, ``merged``); otherwise the generator is closed and the turn runs
    again from the store's history, as after any cache miss. Orchestration code is replayed at
    will by design, and nothing of a refused turn leaves the process."""

    def __init__(self, incarnation: str, replayer: Replayer, resolved: Resolved, message: Message):
        self.incarnation = incarnation
        self.replayer = replayer
        self.resolved = resolved
        self.message = message
        """The result the turn delivers."""
        self.event_count = replayer.event_count
        """Where the generator was when the turn began: the events the turn assumes are stored."""
        self.result: TurnResult | None = None
        """The turn's result once it ran (None: not yet, or the code did not yield in time)."""

    async def run(self, turn_threads: TurnThreads) -> TurnResult | None:
        """Run the turn on a turn thread, once one is free; None when the code did not yield in time."""
        self.result = await turn_threads.run_when_free(self.replayer, [], [self.message])
        return self.result

    def continues(self, locked: OrchestrationWork) -> bool:
        """Whether the lock ``locked`` (taken after this turn's commit was refused) found the
        history just as the turn assumed, so the generator may go on with its messages."""
        instance = locked.instance
        return (
            self.result is not None
            and (instance.incarnation, instance.execution_id) == (self.incarnation, self.replayer.execution_id)
            and locked.history_after == self.event_count
            and not locked.history
        )

    def merged(self, then: TurnResult) -> TurnResult:
        """This turn's result followed by ``then``, a second turn of the same generator: one
        commit appends both turns' events and does both turns' work."""
        first = self.result
        assert first is not None
        return TurnResult(
            new_events=first.new_events + then.new_events,
            actions=first.actions + then.actions,
            outcome=then.outcome,
            custom_status=then.custom_status,
            traces=first.traces + then.traces,
            dropped=first.dropped + then.dropped,
        )

    def discard(self) -> None:
        """Close its generator: the turn was neither committed nor handed on."""
        self.replayer.close()


class LocalDelivery:
    """Runs the turn an activity result this process holds unblocks: at once on the cached
    generator, its commit taking the instance's lock (the dispatcher's ``launch_free``, which
    locks the instance when that commit is refused); without a cached generator, after taking the
    instance's lock (``lock``), the turn replayed from the store (the dispatcher's ``launch``)."""

    def __init__(
        self,
        provider: Provider,
        registry: Registry,
        options: RuntimeOptions,
        cache: GeneratorCache,
        can_take: Callable[[str], bool],
        launch_free: Callable[[LocalResult, TurnAhead], None],
        launch: Callable[[OrchestrationWork, LocalResult, TurnAhead | None], None],
    ):
        self._provider = provider
        self._registry = registry
        self._options = options
        self._cache = cache
        self._can_take = can_take
        self._launch_free = launch_free
        self._launch = launch

    async def deliver(self, work: ActivityWork, message: Message) -> bool:
        """Run the turn that ``message`` (the result of ``work``, which this process holds) unblocks,
        with the result in memory and committed with that turn, if the instance can be had now.
        True once that turn is committed; False when the caller must store the result as usual
        (the instance is busy here or elsewhere, or the turn could not take it)."""
        instance_id = work.instance_id
        if not self._can_take(instance_id):
            return False
        local = LocalResult(work, message)
        ahead = self._turn_ahead(instance_id, message)
        if ahead is not None:
            self._launch_free(local, ahead)
        else:
            locked = await self.lock(instance_id)
            if locked is None:
                return False
            self._launch(locked, local, None)
        return await local.settled()

    async def lock(self, instance_id: str, ahead: TurnAhead | None = None) -> OrchestrationWork | None:
        """The instance locked for a turn that carries a result, or None when it cannot be had now;
        with ``ahead``, only the history past that turn's generator is read."""
        options = self._options
        known = self._cache.known_for(instance_id)
        if ahead is not None:
            known = {instance_id: KnownHistory(ahead.incarnation, ahead.replayer.execution_id, ahead.event_count)}
        try:
            return await self._provider.lock_instance(
                instance_id, options.orchestrator_lock_timeout_ms, options.worker_id, known
            )
        except ProviderError as error:
            orchestration_log.debug("could not lock %s for a result: %s", instance_id, error, extra={"instance_id": instance_id})
            return None

    def _turn_ahead(self, instance_id: str, message: Message) -> TurnAhead | None:
        """Start the turn that ``message`` unblocks with the cached generator, if there is one."""
        entry = self._cache.take_any(instance_id)
        if entry is None:
            return None
        incarnation, replayer = entry
        resolved = resolve(self._registry, _start_of(replayer.history), None)
        if replayer.execution_id != message.execution_id or resolved is None or replayer.finished:
            replayer.close()
            return None
        # until the turn is committed, a fetch here is told of the events before it: if it takes
        # the instance first, the turn goes on under that lock (``continues``)
        self._cache.committing(instance_id, incarnation, replayer)
        return TurnAhead(incarnation, replayer, resolved, message)


def _start_of(history: list[HistoryEvent]) -> OrchestrationStarted | None:
    started = history[0].body if history else None
    return started if isinstance(started, OrchestrationStarted) else None
