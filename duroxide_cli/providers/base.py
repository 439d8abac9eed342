"""The Provider protocol: what every store implements, and the values that cross it.

This module is the contract. A new store is written from it and proven by the conformance
suite (``tests/providers``); the rules below hold for every store, whatever its dialect.

A provider stores instances, their executions and histories, and two queues: orchestrator
messages (per instance) and activity work. It generates no ids that have meaning to the
runtime (lock tokens and incarnations excepted), runs no user code and never imports it, and
does not validate its arguments: ``Client`` does that once for every store.

Transactions. Every method is one transaction: nothing of it is visible unless all of it is.
The protocol is batch-shaped: fetches may return work for several instances and
``commit_turns`` / ``complete_activities`` commit several items, each in its own savepoint, so
that one refused item never fails the others. A store that takes row locks takes them in
instance-id order, so two batches never deadlock each other.

Time. A store judges visibility (``visible_at_ms``), leases and back-offs, and stamps
``created_at_ms`` / ``updated_at_ms`` / execution times, by one clock, the *store clock*: the
process's wall clock for an embedded store, the server's clock for a database server (so that
processes whose own clocks disagree still agree on when a lease ends). Every store can be
opened with ``clock=`` (a ``duroxide_cli.clock.Clock``) that replaces the store clock; the
conformance suite passes one it moves on instead of sleeping. Times a caller writes
(``visible_at_ms``, event timestamps) are the caller's clock: a timer set on a machine whose
clock runs ahead of the store's fires that much late.

Faults. Store trouble is a ``ProviderError(operation, message, retryable)``, never a driver's
exception. ``retryable=True`` means the same call may succeed if made again (a busy or locked
database, a dropped connection, a server restarting, a serialization failure or deadlock); the
runtime then tries again. A failure that trying again cannot cure (a closed provider, a schema
problem) is ``retryable=False``. A call whose outcome is unknown (the connection broke while
the commit was in flight) is retryable too: every write is safe to repeat, because a repeated
commit or completion is refused by its lock token, so nothing is written twice.

Scope: both fetches take ``instance_ids``, the instances a caller serves (``duroxide execute``
serves one instance and its sub-orchestrations); the store applies it in the fetch's own query,
so work outside it is never locked, counted or returned. A ``limit`` of 0 or an empty scope
fetches nothing.

Leases: a fetch locks its work with a fresh ``lock_token`` until ``now + lock_timeout_ms``
(store clock). A commit, completion, renewal, abandon or drop carrying a token whose lease has
moved on (expired, taken by someone else, or the work is gone) is refused and changes nothing:
the token fences a process that lost its lease (paused, partitioned) out of a history another
process now owns. A commit with an expired lease that nobody took is refused too.

Incarnations: creating an instance gives its row a fresh opaque ``incarnation`` token (made like
a lock token). An id that is deleted and started again is a new incarnation, so whatever a
runtime holds for the old one (a cached generator, a known event count) is never taken for the
new one's, in this process or any other.

Terminal instances are still fetched: an instance whose status is Completed, Failed or Cancelled
but that has visible messages (an event raised after the end, a completion that raced it) is
fetched like any other, with those messages, so the runtime can drop them (``drop_messages``).

The end of an execution: committing a turn that ends an execution (a terminal status, or
continue-as-new) removes the work still queued for it -- its activity work and the messages
addressed to it or to an earlier execution (delayed timers, completions) -- in the same
transaction. Messages that still arrive for a finished instance (an event, a completion that
raced the end) are dropped by the runtime through ``drop_messages``, which leaves the instance
row as it is.

Messages to an instance that no longer exists are dropped: a message a turn sends (to a parent
or child) and a start's ``on_conflict``, whose instance was deleted meanwhile, are discarded
without an error and the rest of the turn commits (nothing could ever fetch them); an activity's
result for a deleted instance is refused, since its work item went with the instance. Only ``enqueue_message``, a caller's direct request, raises InstanceNotFoundError.

Executions are kept: every execution row (its status, start and end) and its history stay
after the execution ends or continues as new, until ``prune_executions`` or ``delete_instances``
removes them.

Unreadable rows: a stored row that cannot be decoded (a history event, a queued message, an
activity's work or an instance's JSON columns damaged on disk or edited by hand) never fails
more than the one instance it belongs to. A fetch returns that instance's work locked as usual
with ``unreadable`` saying, in one line, which row cannot be read (naming the instance, and the
event or message); the other instances of the batch are unaffected. Such orchestration work
carries the history events before the first unreadable one and the messages that could be read,
and lists the others in ``unreadable_message_ids``; the runtime fails the instance
(``UnreadableRowError``, no history event appended) and consumes every locked message. Such
activity work carries a placeholder activity (name ``"?"``, input None); the runtime completes it
as an ``UnreadableRowError`` failure without running any code. Every other method that meets an
unreadable row (``read_history``, ``get_instance``, the listings) raises ``ProviderError`` with
``retryable=False`` and a message naming the row.

Errors: a provider raises ``ProviderError`` for every failure of the store itself (besides the
typed errors each method names), with ``retryable`` telling the truth. Retryable: trying the same
call again later may succeed -- a lock or busy timeout, a full disk, an I/O error, a dropped
connection; the runtime backs off and tries again. Not retryable: the store cannot work as it is
-- a damaged or foreign database, a read-only file, a missing or unexpected schema, a row that
cannot be decoded; the runtime stops (``Runtime.failure``) instead of retrying forever. Callers
classify by ``retryable`` alone, never by the message.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Protocol

from ..history import HistoryEvent
from ..messages import Message
from .values import (
    RUNTIME_HEARTBEAT_INTERVAL_MS,
    RUNTIME_LIVE_WITHIN_MS,
    TERMINAL_STATUSES,
    ActivityCompletion,
    ActivityLease,
    ActivityWork,
    CommitOutcome,
    CommitResult,
    ExecutionInfo,
    HeldWork,
    InstanceFilter,
    InstanceRecord,
    InstanceRecordPage,
    InstanceStart,
    InstanceStatus,
    InstanceUpdate,
    KnownHistory,
    NewActivity,
    OrchestrationWork,
    OutgoingMessage,
    Queue,
    QueueDepths,
    RuntimeInfo,
    SystemMetrics,
    TakeLock,
    TurnCommit,
)

__all__ = [
    "Provider",
    "ActivityCompletion",
    "ActivityLease",
    "ActivityWork",
    "CommitOutcome",
    "CommitResult",
    "ExecutionInfo",
    "HeldWork",
    "InstanceFilter",
    "InstanceRecord",
    "InstanceRecordPage",
    "InstanceStart",
    "InstanceStatus",
    "InstanceUpdate",
    "KnownHistory",
    "NewActivity",
    "OrchestrationWork",
    "OutgoingMessage",
    "Queue",
    "QueueDepths",
    "RUNTIME_HEARTBEAT_INTERVAL_MS",
    "RUNTIME_LIVE_WITHIN_MS",
    "RuntimeInfo",
    "SystemMetrics",
    "TakeLock",
    "TERMINAL_STATUSES",
    "TurnCommit",
]
"""The protocol and, re-exported, the values that cross it (defined in ``values.py``)."""


class Provider(Protocol):
    """A durable store. Each method is atomic; the module docstring holds the rules every method
    follows (time, faults, leases, the end of an execution, missing instances)."""

    # -- instances and messages -----------------------------------------------------------
    async def create_instance(self, start: Message) -> None:
        """Create the instance (status Pending) and enqueue ``start`` (an OrchestrationStarted
        message for execution 1). Raises InstanceAlreadyExistsError if the id is taken.

        ::

            if instances[id] exists: raise InstanceAlreadyExistsError (nothing written)
            instances[id] = Pending, execution 1, fresh incarnation, created = updated = now
            executions[id, 1] = Pending, started now
            orchestrator_queue += start, visible now      # wakes dispatchers
        """

    async def enqueue_message(self, message: Message, visible_at_ms: int | None = None) -> None:
        """Enqueue a message for an existing instance (any status), visible at
        ``visible_at_ms`` (None: now, store clock). Raises InstanceNotFoundError if there is no
        such instance. A message for a finished instance is accepted (and later dropped by the
        runtime); see the module docstring."""

    async def fetch_orchestration_work(
        self,
        limit: int,
        lock_timeout_ms: int,
        owner: str,
        known: Mapping[str, KnownHistory],
        *,
        instance_ids: Collection[str] | None = None,
    ) -> list[OrchestrationWork]:
        """Lock up to ``limit`` instances that have visible messages and no live lock (nor a
        back-off in force), oldest message first. Counts one delivery on every returned
        message. ``known`` maps instance id to what the caller holds of its history; an
        instance whose incarnation and execution match gets only the newer events, any other
        its whole history (``history_after`` 0). ``instance_ids`` limits the fetch to those
        instances (None: any instance); others are neither locked nor counted. Terminal
        instances with visible messages are fetched too.

        ::

            candidates = instances with a message visible_at <= now,
                         locked_until <= now (or never locked), backoff_until <= now,
                         in instance_ids if given; ordered by their oldest visible message
            for each of the first `limit` candidates (locked in instance-id order; one another
                                                      fetch is taking is skipped, not waited for):
                token = fresh; instance.lock = (token, owner, now + lock_timeout_ms)
                its visible messages: delivery_count += 1, tagged with token
                return instance row, token, history after `known`, those messages (oldest first)
        """

    async def commit_turns(self, turns: Sequence[TurnCommit]) -> list[CommitOutcome]:
        """Commit each turn atomically and independently (one savepoint each): append its
        events, write the instance row (clearing ``held``: a dispatched instance is not held
        back), enqueue its activities, messages and starts, remove cancelled activity work and
        the consumed messages, and release the lock. A turn whose lease has moved on is refused
        ("lock_lost") and writes nothing.

        A turn that ends its execution (a terminal status, or ``next_execution_id``) also
        removes what is still queued for that execution or an earlier one: activity work, and
        the instance's messages whose ``execution_id`` is at most the turn's (delayed timers,
        completions, including any the turn itself sends there). Events and cancels (no
        execution) stay, and so does the next execution's start.

        ::

            for each turn, in its own savepoint (row locks in instance-id order):
                if instance.lock_token != turn.lock_token or locked_until <= now: "lock_lost"
                append new_events          # an event id that exists already: "lock_lost"
                executions[execution_id] = status (ended now if terminal); on continue-as-new
                    it ends Completed and executions[next_execution_id] begins
                instance row = turn.instance, updated now, held = None, lock and back-off cleared
                enqueue activities (visible now); send messages and starts (to instances that
                    exist; a start of a taken id sends on_conflict instead, or is ignored)
                delete worker items of cancel_activities
                if the execution ended: delete its (and earlier executions') worker items and
                    messages with an execution_id <= turn.execution_id
                delete consumed messages; untag the other messages the fetch tagged
                "committed"

        A turn may also lease the activities it enqueues and complete activity work whose results
        it carries; ``commit_turns_leasing`` says how (``commit_turns`` returns only the outcomes).
        """

    async def commit_turns_leasing(self, turns: Sequence[TurnCommit]) -> list[CommitResult]:
        """``commit_turns``, also returning the activity work each turn leased to its caller.

        Local activities: a turn with ``lease_activities`` enqueues the first ``limit`` of its
        activities already leased to ``owner`` (one delivery counted, as a fetch would), so the
        committing process runs them without an activity fetch; the rest are queued as usual. A
        turn that ends its execution leases nothing (the end removes its activity work).
        Nothing of the lease exists before the commit does, so no activity can start before the
        turn that schedules it is stored. A turn with ``completed_work`` carries those
        activities' results as history events (delivered to the turn in memory, never queued):
        their work items go with the turn, and if any of their leases has moved on (another token
        holds it, or the item is gone) the whole turn is refused "lock_lost" and nothing of it is
        written, the instance's lock included (the caller releases it).

        A turn with ``take_lock`` was run without the instance's lock, on what the caller held of
        the instance (a cached generator fed an activity's result in memory): its commit takes the
        lock itself, in the same transaction, and only if the instance is just as the turn
        assumed -- it exists with ``take_lock.incarnation``, at the turn's ``execution_id``, Pending
        or Running, with no live lock (an expired one is taken over) and no back-off in force, no
        event of that execution past ``take_lock.history_len``, and no visible message (the turn
        would have had to take it). Otherwise it is refused "lock_lost" with nothing written, and
        the caller takes the lock as usual and runs the turn again from the stored history. Taken
        so, the lock is released by the same commit, so no other process ever sees it; the turn's
        ``lock_token`` is not looked at.

        ::

            for each turn, in its own savepoint, as commit_turns does:
                if turn.take_lock, instead of the lock token check:
                    if instance is missing, or its incarnation != take_lock.incarnation, or its
                       execution_id != turn.execution_id, or its status is terminal,
                       or locked_until > now, or backoff_until > now,
                       or a history event of turn.execution_id has event_id > take_lock.history_len,
                       or it has a message visible_at <= now: "lock_lost" (nothing written)
                for each of turn.completed_work:
                    if worker item work_id is gone or its lock_token differs: "lock_lost" (nothing written)
                ... everything commit_turns writes, and:
                delete the worker items of turn.completed_work
                unless the execution ended, the first `lease.limit` of turn.activities: enqueued with a fresh token each,
                    lock_owner = lease.owner, locked_until = now + lease.lock_timeout_ms,
                    delivery_count = 1 (these wake nobody)
                CommitResult("committed", leased = those items as ActivityWork, in the turn's order)
        """

    async def lock_instance(
        self, instance_id: str, lock_timeout_ms: int, owner: str, known: Mapping[str, KnownHistory]
    ) -> OrchestrationWork | None:
        """Lock one instance as ``fetch_orchestration_work`` would, whether or not it has visible
        messages: how a process that holds an activity's result takes the instance to run the
        turn that result unblocks. None (nothing written) when there is no such instance, or it
        has a live lock or a back-off in force. Its visible messages come with it, tagged and
        counted as a fetch counts them (the turn delivers them too); the store does not look at
        its status (a finished instance is locked and returned like any other).

        ::

            if instances[instance_id] is missing, or locked_until > now, or backoff_until > now:
                return None
            token = fresh; instance.lock = (token, owner, now + lock_timeout_ms)
            its visible messages: delivery_count += 1, tagged with token
            return instance row, token, history after `known`, those messages (oldest first)

        Like a fetch, it writes only a lease: a store that syncs commits need not sync this one
        by itself (a power loss that undoes it stops its holder too).
        """

    async def abandon_orchestration(
        self,
        instance_id: str,
        lock_token: str,
        delay_ms: int = 0,
        reason: str | None = None,
        count_delivery: bool = True,
    ) -> None:
        """Release the lock without a turn. ``delay_ms`` keeps the instance from being fetched
        that long; ``reason`` (why it cannot run here, such as code no process that fetched it
        has) becomes its ``error``, and without one the current ``error`` is kept; ``held`` is
        left alone. With ``count_delivery=False`` (clean shutdown) the fetch does not count:
        the messages the fetch tagged get their delivery back. A stale token changes nothing."""

    async def drop_messages(self, instance_id: str, lock_token: str, message_ids: Sequence[int]) -> bool:
        """Delete the given messages of a locked instance and release its lock, leaving the
        instance row (status, output, ``updated_at_ms``) as it is: how messages that arrive for
        a finished instance are dropped. False (and nothing written) when the lease has moved on."""

    async def set_instance_held(self, instance_id: str, reason: str | None) -> None:
        """Mark a Pending or Running instance as held back, ``reason`` shown as its ``held``
        (None releases it), without a turn; its ``error`` is left alone. A finished or unknown
        instance is left as it is. Holding is only shown here: the runtime that holds an
        instance back is the one that does not dispatch it."""

    # -- activities ---------------------------------------------------------------------------
    async def fetch_activity_work(
        self, limit: int, lock_timeout_ms: int, owner: str, *, instance_ids: Collection[str] | None = None
    ) -> list[ActivityWork]:
        """Lock up to ``limit`` visible activity work items (visible_at <= now and no live
        lease), oldest first, each with its own fresh token until ``now + lock_timeout_ms``,
        counting a delivery. ``instance_ids`` limits the fetch to the work of those instances
        (None: any instance)."""

    async def renew_activity_lock(self, work_id: int, lock_token: str, lock_timeout_ms: int) -> bool:
        """Extend the lease. False when the work is no longer wanted (cancelled, its instance
        finished or deleted) or the lease moved on."""

    async def complete_activities(self, completions: Sequence[ActivityCompletion]) -> list[bool]:
        """For each: remove the work item and enqueue its result message, atomically. False
        (and nothing written) where the lease moved on or the work is gone (deleting an
        instance removes its work items, so a late result for it is refused, not queued)."""

    async def abandon_activity(
        self, work_id: int, lock_token: str, delay_ms: int = 0, count_delivery: bool = True
    ) -> None:
        """Release the activity's lock; it becomes visible again after ``delay_ms``."""

    # -- reads, admin and metrics -------------------------------------------------------------
    async def get_instance(self, instance_id: str) -> InstanceRecord | None:
        """The instance's row, or None when there is no such instance."""

    async def list_instances(
        self, status: str | None = None, name: str | None = None, limit: int = 100, filter: InstanceFilter | None = None
    ) -> list[InstanceRecord]:
        """Up to ``limit`` instances, newest first (by creation time, then by insertion for equal
        times). ``status`` and ``name`` are shorthands that hold together with ``filter``."""

    async def list_instances_page(
        self, filter: InstanceFilter | None = None, limit: int = 50, cursor: str | None = None
    ) -> InstanceRecordPage:
        """Up to ``limit`` matching instances, in ``list_instances``' order, after ``cursor`` (a
        ``next_cursor`` this store returned for the same filter; None: from the newest).

        Pagination is by key, not offset: instances created while a client pages through do not
        shift, repeat or hide the rows still to come. The cursor is opaque text the store
        chooses; one it cannot read raises ValueError."""

    async def count_instances(self, filter: InstanceFilter | None = None) -> int:
        """How many instances match ``filter`` (all of them when None)."""

    async def list_children(self, instance_id: str) -> list[str]:
        """Ids of the instances whose parent is ``instance_id``."""

    async def list_executions(self, instance_id: str) -> list[ExecutionInfo]:
        """Every stored execution of the instance, oldest first, with its event count (empty
        for an unknown instance). Ended executions stay until pruned."""

    async def read_history(self, instance_id: str, execution_id: int | None = None) -> list[HistoryEvent]:
        """The events of one execution (the latest when None), in order."""

    async def reset_execution(
        self, instance_id: str, from_execution_id: int, history: Sequence[HistoryEvent], messages: Sequence[Message]
    ) -> None:
        """Begin execution ``from_execution_id + 1`` of the instance with ``history`` (events copied
        from the current one), atomically: the instance row moves to it (status Running; output,
        error, failure, custom status and ``held`` cleared; lock and back-off released, so a turn
        still in flight is refused at its commit); the old execution's row ends, Cancelled if it
        was still running; the instance's activity work goes, and so do the timers and activity
        results queued for earlier executions (the new execution schedules that work again), while
        other messages stay; ``messages`` (the ``ExecutionReset`` marker first) are enqueued.
        Raises InstanceNotFoundError for an unknown id, and ProviderError (not retryable) when the
        instance is no longer at ``from_execution_id``."""

    async def fork_instance(
        self, instance_id: str, history: Sequence[HistoryEvent], messages: Sequence[Message]
    ) -> None:
        """Create instance ``instance_id`` (Running, execution 1, top level, a fresh incarnation;
        name and version from ``history``'s OrchestrationStarted) with ``history`` and enqueue
        ``messages``, atomically. Raises InstanceAlreadyExistsError if the id is taken."""

    async def delete_instances(self, instance_ids: Sequence[str]) -> int:
        """Remove the instances with their histories, messages and work. Returns how many existed."""

    async def prune_executions(self, instance_id: str, keep_last: int) -> int:
        """Delete the execution rows and histories of all but the last ``keep_last`` executions.
        Returns how many executions went (0 for an unknown instance). ``keep_last`` is at least
        1 (``Client`` checks it), so the current execution is always kept."""

    async def system_metrics(self) -> SystemMetrics:
        """Instance counts for every status (zero included) and their total."""

    async def queue_depths(self) -> QueueDepths:
        """Orchestrator messages visible now and not yet visible (store clock), and activity
        work items, locked or not."""

    # -- runtimes -----------------------------------------------------------------------------------
    async def register_runtimes(self, runtimes: Sequence[RuntimeInfo]) -> None:
        """Write each runtime's row, replacing the row with the same ``worker_id``: a runtime
        registers with this at start and refreshes its ``last_seen_at_ms`` by calling it again."""

    async def remove_runtimes(self, worker_ids: Sequence[str] = (), seen_before_ms: int | None = None) -> int:
        """Delete the rows of ``worker_ids`` (a clean shutdown) and, when ``seen_before_ms`` is
        given, every row last seen before that time (rows that dead processes left). Returns how
        many rows went."""

    async def list_runtimes(self, seen_since_ms: int | None = None) -> list[RuntimeInfo]:
        """The rows last seen at or after ``seen_since_ms`` (all rows when None), the
        earliest started first (then by ``worker_id``)."""

    # -- notification and lifecycle -------------------------------------------------------------
    async def wait_for_work(self, queue: Queue, timeout_ms: int) -> None:
        """Return as soon as this process writes work for ``queue`` (or another process's write
        is noticed), when a delayed message, lease or back-off the store knows of comes due, or
        after ``timeout_ms``. It may return early for nothing (the caller fetches and finds
        nothing); it never raises for store trouble, since the next fetch reports that. Stores
        that can be shared say how soon other processes' writes are noticed."""

    async def close(self) -> None:
        """Release connections and threads; the provider is unusable afterwards."""
