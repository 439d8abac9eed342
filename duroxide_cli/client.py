"""Client: start, raise, cancel, wait and inspect instances in a store; no runtime needed."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .errors import InstanceNotFoundError, InstanceRunningError, WaitTimeoutError
from .history import CancelRequested, EventRaised, HistoryEvent, OrchestrationStarted
from .messages import Message
from .payloads import check_instance_id, check_text, normalize, unencodable
from .providers.base import (
    RUNTIME_LIVE_WITHIN_MS,
    TERMINAL_STATUSES,
    ExecutionInfo,
    InstanceFilter,
    InstanceRecord,
    Provider,
    QueueDepths,
    RuntimeInfo,
    SystemMetrics,
)
from .states import NO_RUNTIME_REASON as NO_RUNTIME_REASON
from .states import InstanceInfo, InstancePage, InstanceTree, OrchestrationState, any_pending, state_of, unserved
from .states import check_limit as _check_limit


def _now_ms() -> int:
    return int(time.time() * 1000)


class Client:
    """Talks to a store; works in any process, with or without a Runtime."""

    def __init__(self, provider: Provider):
        self.provider = provider

    # -- starting ---------------------------------------------------------------------------------
    async def start_orchestration(self, instance_id: str, name: str, input: Any = None) -> None:
        """Create the instance; a runtime that has ``name`` runs its highest version.

        Raises InstanceAlreadyExistsError for an existing id, TypeError for input JSON cannot
        encode (before anything is written)."""
        await self._start(instance_id, name, input, None)

    async def start_orchestration_versioned(self, instance_id: str, name: str, input: Any, version: str) -> None:
        """Like ``start_orchestration``, pinned to ``version``."""
        if not isinstance(version, str) or not version:
            raise ValueError(f"version must be a non-empty string, got {version!r}")
        check_text(version, "version")
        await self._start(instance_id, name, input, version)

    async def _start(self, instance_id: str, name: str, input: Any, version: str | None) -> None:
        check_instance_id(instance_id)
        check_text(name, "orchestration name")
        value = normalize(input, "input")
        await self.provider.create_instance(Message(instance_id, OrchestrationStarted(name, version, value), 1))

    # -- talking to instances ----------------------------------------------------------------------
    async def raise_event(self, instance_id: str, name: str, data: Any = None) -> None:
        """Deliver an event (buffered until the orchestration waits for it). Unknown id:
        InstanceNotFoundError; a finished instance drops it with a warning."""
        _check_lookup(instance_id)
        check_text(name, "event name")
        value = normalize(data, "event data")
        await self.provider.enqueue_message(Message(instance_id, EventRaised(name, value)))

    async def cancel_instance(self, instance_id: str, reason: str | None = None) -> None:
        """Ask a running instance to cancel: its pending yield raises ``OrchestrationCancelled``
        (``reason`` on its ``reason`` attribute), so ``except``/``finally`` can compensate; it ends
        Cancelled when that exception leaves the code. Sub-orchestrations it waits for are
        cancelled the same way. A finished instance is left alone; an unknown id raises
        InstanceNotFoundError."""
        await self._request_cancel(instance_id, CancelRequested(_reason(reason)))

    async def terminate_instance(self, instance_id: str, reason: str | None = None) -> None:
        """Stop a running instance at once, no user code running (also one compensating after a
        cancel): it ends Cancelled with ``failure.error_type`` "Terminated". A finished instance is
        left alone; an unknown id raises InstanceNotFoundError."""
        await self._request_cancel(instance_id, CancelRequested(_reason(reason), terminate=True))

    async def _request_cancel(self, instance_id: str, request: CancelRequested) -> None:
        record = await self._record(instance_id)
        if record.status in TERMINAL_STATUSES:
            return
        await self.provider.enqueue_message(Message(instance_id, request))

    # -- recovering ---------------------------------------------------------------------------------
    async def reset_instance(self, instance_id: str, event_id: int | None = None, reason: str | None = None) -> int:
        """Start a new execution of the instance that keeps events 1..``event_id`` of the latest one
        and re-runs the rest with the current code; returns the new execution id. Activities
        completed by then are not run again; activities and timers scheduled by then but not
        finished are scheduled again; events raised after it are delivered again, in order. The
        old execution stays readable. Without ``event_id``: the last event before the failing
        turn (a Failed instance), before the ending (any other finished one), or the last event
        (a running one); ``duroxide reset`` first looks for a divergence of the current code.

        Raises InstanceNotFoundError, or ValueError for an event id outside the history."""
        from .replay.reset import plan_restart, reset_point

        record = await self._record(instance_id)
        events = await self.provider.read_history(instance_id)
        point = reset_point(events) if event_id is None else event_id
        restart = plan_restart(
            events, point, instance_id=instance_id, from_execution_id=record.execution_id,
            execution_id=record.execution_id + 1, reason=reason, now_ms=_now_ms(),
        )
        await self.provider.reset_execution(instance_id, record.execution_id, restart.history, restart.messages)
        return record.execution_id + 1

    async def fork_instance(self, instance_id: str, event_id: int, new_id: str | None = None) -> str:
        """Like ``reset_instance``, into a new top-level instance (``new_id``, by default
        ``{instance_id}-fork-{n}`` with the first free n); the original is untouched. Returns the
        new id. Raises InstanceNotFoundError, InstanceAlreadyExistsError for a taken ``new_id``,
        or ValueError for an event outside the history or inside a sub-orchestration still running."""
        from .replay.reset import plan_restart

        record = await self._record(instance_id)
        if new_id is None:
            new_id = await self._free_fork_id(instance_id)
        check_instance_id(new_id)
        events = await self.provider.read_history(instance_id)
        restart = plan_restart(
            events, event_id, instance_id=new_id, from_execution_id=record.execution_id, execution_id=1,
            reason=f"forked from '{instance_id}'", now_ms=_now_ms(), fork=True,
        )
        await self.provider.fork_instance(new_id, restart.history, restart.messages)
        return new_id

    async def _free_fork_id(self, instance_id: str) -> str:
        n = 1
        while await self.provider.get_instance(f"{instance_id}-fork-{n}") is not None:
            n += 1
        return f"{instance_id}-fork-{n}"

    # -- reading ------------------------------------------------------------------------------------
    async def get_status(self, instance_id: str) -> OrchestrationState | None:
        """The instance's state, or None if there is no such instance.

        A Pending instance's ``error`` is ``NO_RUNTIME_REASON`` while no runtime is live (see
        ``list_runtimes``), whatever the store recorded."""
        _check_lookup(instance_id)
        record = await self.provider.get_instance(instance_id)
        return None if record is None else (await self._states([record]))[0]

    async def wait_for_orchestration(self, instance_id: str, timeout_ms: int = 30000) -> OrchestrationState:
        """The state once Completed, Failed or Cancelled (never raises for those).

        Raises WaitTimeoutError (also a TimeoutError) after ``timeout_ms``, InstanceNotFoundError
        for an unknown id."""
        _check_lookup(instance_id)
        deadline = time.monotonic() + timeout_ms / 1000
        delay = 0.005
        while True:
            record = await self.provider.get_instance(instance_id)
            if record is None:
                raise InstanceNotFoundError(instance_id)
            state = state_of(record)
            if state.is_terminal:
                return state
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeoutError(instance_id, timeout_ms, state.status)
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 1.5, 0.1)

    async def list_instances(
        self, status: str | None = None, name: str | None = None, limit: int = 100, *, filter: InstanceFilter | None = None
    ) -> list[OrchestrationState]:
        """Up to ``limit`` instances, newest first; ``status`` and ``name`` hold together with ``filter``."""
        _check_limit(limit)
        return await self._states(await self.provider.list_instances(status, name, limit, filter))

    async def list_instances_page(
        self, filter: InstanceFilter | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> InstancePage:
        """One page of the matching instances, newest first, after ``cursor`` (the ``next_cursor``
        of the previous page; None: the first page). Instances created while you page through
        never make a page repeat or skip a row. A cursor the store cannot read raises ValueError."""
        _check_limit(limit)
        page = await self.provider.list_instances_page(filter, limit, cursor)
        return InstancePage(await self._states(page.records), page.next_cursor)

    async def list_runtimes(self) -> list[RuntimeInfo]:
        """The live runtimes serving this store (seen in the last 15 s), earliest started first."""
        return await self.provider.list_runtimes(seen_since_ms=_now_ms() - RUNTIME_LIVE_WITHIN_MS)

    async def _states(self, records: list[InstanceRecord]) -> list[OrchestrationState]:
        """The states of ``records``; Pending ones say so when no runtime is live (``unserved``)."""
        states = [state_of(r) for r in records]
        if not any_pending(states) or await self.list_runtimes():
            return states
        return unserved(states)

    async def count_instances(self, filter: InstanceFilter | None = None) -> int:
        """How many instances match ``filter`` (all of them when None)."""
        return await self.provider.count_instances(filter)

    async def get_instance_info(self, instance_id: str) -> InstanceInfo:
        record = await self._record(instance_id)
        executions = await self.provider.list_executions(instance_id)
        children = await self.provider.list_children(instance_id)
        current = next((e for e in executions if e.execution_id == record.execution_id), None)
        (state,) = await self._states([record])
        return InstanceInfo(
            state, record.parent_instance_id, tuple(children), len(executions), current.event_count if current else 0
        )

    async def list_executions(self, instance_id: str) -> list[ExecutionInfo]:
        await self._record(instance_id)
        return await self.provider.list_executions(instance_id)

    async def read_history(self, instance_id: str, execution_id: int | None = None) -> list[HistoryEvent]:
        """The events of one execution (the latest when None)."""
        await self._record(instance_id)
        return await self.provider.read_history(instance_id, execution_id)

    async def get_instance_tree(self, instance_id: str) -> InstanceTree:
        return await self._tree(await self._record(instance_id))

    async def _tree(self, record: InstanceRecord) -> InstanceTree:
        children = []
        for child_id in await self.provider.list_children(record.instance_id):
            child = await self.provider.get_instance(child_id)
            if child is not None:
                children.append(await self._tree(child))
        return InstanceTree(state_of(record), tuple(children))

    # -- admin --------------------------------------------------------------------------------------
    async def delete_instance(self, instance_id: str, force: bool = False) -> None:
        """Delete the instance, its sub-orchestrations and their histories.

        A running instance raises InstanceRunningError unless ``force=True``; a parent waiting
        for a force-deleted child sees its yield fail (``error_type`` "InstanceDeleted")."""
        tree = await self.get_instance_tree(instance_id)
        if not force and not tree.state.is_terminal:
            raise InstanceRunningError(instance_id)
        if not tree.state.is_terminal:
            await self._tell_parent_of_deletion(tree.state)
        ids: list[str] = []
        stack = [tree]
        while stack:
            node = stack.pop()
            ids.append(node.state.instance_id)
            stack.extend(node.children)
        await self.provider.delete_instances(ids)

    async def _tell_parent_of_deletion(self, state: OrchestrationState) -> None:
        from .replay.endings import deletion_notice

        notice = deletion_notice(state.instance_id, await self.provider.read_history(state.instance_id))
        if notice is None:
            return
        try:
            await self.provider.enqueue_message(notice)
        except InstanceNotFoundError:
            pass  # the parent is gone too

    async def prune_executions(self, instance_id: str, keep_last: int = 1) -> int:
        """Delete the histories of all but the last ``keep_last`` executions; returns how many went."""
        if isinstance(keep_last, bool) or not isinstance(keep_last, int) or keep_last < 1:
            raise ValueError(f"keep_last must be at least 1 (the current execution is always kept), got {keep_last!r}")
        await self._record(instance_id)
        return await self.provider.prune_executions(instance_id, keep_last)

    async def get_system_metrics(self) -> SystemMetrics:
        return await self.provider.system_metrics()

    async def get_queue_depths(self) -> QueueDepths:
        return await self.provider.queue_depths()

    async def _record(self, instance_id: str) -> InstanceRecord:
        _check_lookup(instance_id)
        record = await self.provider.get_instance(instance_id)
        if record is None:
            raise InstanceNotFoundError(instance_id)
        return record


def _check_lookup(instance_id: str) -> None:
    """Refuse an id no instance can have because it cannot be stored (a NUL character, a lone
    surrogate): ValueError, as at start, instead of a store error that, on PostgreSQL, would also
    fail the other calls batched into the same statement."""
    if isinstance(instance_id, str):
        problem = unencodable(instance_id)
        if problem:
            raise ValueError(f"instance id {ascii(instance_id)} {problem}")


def _reason(reason: str | None) -> str | None:
    """A cancel or terminate reason is stored as text: None, or a string UTF-8 can encode."""
    if isinstance(reason, str) and reason:
        check_text(reason, "reason")
    return reason
