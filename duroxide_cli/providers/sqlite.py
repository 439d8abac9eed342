"""The embedded store: one SQLite file (or one in-memory database) behind the Provider protocol.

The connection lives on one dedicated thread and every provider method runs its whole
transaction there as a single call, so a method costs one thread hop however many statements
it runs. Files use WAL mode, ``BEGIN IMMEDIATE`` for writes and a busy timeout, so several
processes can share one file (a ``duroxide run`` and a ``duroxide start`` in another shell).
Commits are durable by default (``synchronous=FULL``: each survives power loss once
acknowledged); ``synchronous="normal"`` trades the last acknowledged commits on power loss for
speed. Calls made while a transaction runs share the next one (group commit, one sync for all);
a transaction of fetches alone writes only leases and is not synced by itself (a power loss
undoes at most leases, whose holder it stopped too; the next synced commit covers them).

Waking: this provider's own writes wake its ``wait_for_work`` callers at once, and a wait also
ends when the earliest delayed message (a timer) it knows of comes due. Other processes' writes
are noticed by the next fetch; an idle fetch costs no query unless ``PRAGMA data_version`` says
another connection committed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

from ..clock import Clock
from ..history import HistoryEvent
from ..messages import Message
from ._sqlite import activities, admin, commits, listing, orchestrations, restarts, starts
from ._sqlite import runtimes as _runtimes
from ._sqlite.database import Database, Synchronous
from ._sqlite.relay import TurnCommitRelay
from ._sqlite.wakeups import QUEUES, QueueSignal, Wake, apply
from .base import (
    ActivityCompletion,
    ActivityWork,
    CommitOutcome,
    CommitResult,
    ExecutionInfo,
    InstanceFilter,
    InstanceRecord,
    InstanceRecordPage,
    KnownHistory,
    OrchestrationWork,
    Queue,
    QueueDepths,
    RuntimeInfo,
    SystemMetrics,
    TurnCommit,
)


class SqliteProvider:
    """The SQLite store. Create it with ``await SqliteProvider.open(path)`` or
    ``await SqliteProvider.in_memory()``; release it with ``await provider.close()``."""

    def __init__(self, database: Database, clock: Clock | None = None):
        """Use ``open`` or ``in_memory``; this wraps an already connected database."""
        self._db = database
        self._clock = clock or Clock()
        self._signals = {queue: QueueSignal() for queue in QUEUES}

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        synchronous: Synchronous = "full",
        clock: Clock | None = None,
        read_only: bool = False,
    ) -> SqliteProvider:
        """Open (creating it and its parent directory if needed) the database file at ``path``.

        A file or directory it creates is private to the user (0600 / 0700) whatever the umask.
        ``synchronous="full"`` (the default) syncs every commit to disk before acknowledging it,
        so no acknowledged step is lost on power loss; ``"normal"`` is faster but a power loss
        (not a process crash) may undo the last acknowledged commits. ``clock`` is the store clock
        (see ``providers/base.py``); None: this process's wall clock. Raises ValueError for
        another value; ConfigError if the file was written by a newer duroxide's schema, is a
        directory, is not a SQLite database, or is a database with other tables and no duroxide
        schema (nothing is written to such a file).

        ``read_only=True`` opens an existing store without writing to it at all: no schema
        migration, no lock that waits for a writer, so reads go on while another process holds
        the write lock, and a store in a read-only directory can be read. Its schema must be this
        code's version (ConfigError otherwise: a store from an older duroxide is upgraded by the
        first command that opens it to write). Every writing method then raises ProviderError
        (not retryable).
        """
        clock = clock or Clock()
        return cls(await Database.connect(Path(path), clock.now_ms, synchronous, read_only=read_only), clock)

    @classmethod
    async def in_memory(cls, *, clock: Clock | None = None) -> SqliteProvider:
        """A private in-memory database on one connection, gone when closed."""
        clock = clock or Clock()
        return cls(await Database.connect(None, clock.now_ms), clock)

    def __repr__(self) -> str:
        return f"SqliteProvider({self._db.where!r})"

    @property
    def synchronous(self) -> Synchronous | None:
        """The ``PRAGMA synchronous`` in force on the connection: ``"full"`` or ``"normal"``."""
        return self._db.synchronous

    def turn_commit_relay(self) -> TurnCommitRelay:
        """Commits of turns sent from the thread that ran them (``runtime/turn_commit.py``): not
        part of the Provider protocol, and looked up on this class only, so a wrapper around the
        store (which sees every call) is never bypassed."""
        return TurnCommitRelay(self._db, self._signals)

    async def _write(self, operation: str, fn: Callable, *args):
        """Run a write transaction, then wake whoever its writes concern."""
        wake = Wake()
        result = await self._db.call(operation, self._db.write, fn, wake, *args)
        apply(wake, self._signals)
        return result

    async def _poll(
        self, operation: str, queue: Queue, fn: Callable, limit: int, *args, instance_ids: Collection[str] | None
    ):
        """Fetch up to ``limit`` items of ``queue`` for ``instance_ids`` (None: any instance; an
        idle poll may skip the query), then wake whoever the fetch concerns."""
        if limit <= 0 or (instance_ids is not None and not instance_ids):
            return []
        scope = None if instance_ids is None else json.dumps(sorted(set(instance_ids)))
        wake = Wake()
        found = await self._db.call(operation, self._db.poll, queue, scope, fn, wake, limit, *args, scope)
        apply(wake, self._signals)
        if scope is None and len(found) < limit:
            self._signals[queue].fetched_all(wake.writes)
        return found

    async def _read(self, operation: str, fn: Callable, *args):
        return await self._db.call(operation, self._db.read, fn, *args)

    # -- instances and messages -------------------------------------------------------------------

    async def create_instance(self, start: Message) -> None:
        wake = Wake()  # starts made together are written together (many callers start at once)
        await self._db.call_batched("create_instance", starts.create_instances_txn, wake, start)
        apply(wake, self._signals)

    async def enqueue_message(self, message: Message, visible_at_ms: int | None = None) -> None:
        await self._write("enqueue_message", orchestrations.enqueue_message_txn, message, visible_at_ms)

    async def fetch_orchestration_work(
        self,
        limit: int,
        lock_timeout_ms: int,
        owner: str,
        known: Mapping[str, KnownHistory],
        *,
        instance_ids: Collection[str] | None = None,
    ) -> list[OrchestrationWork]:
        return await self._poll(
            "fetch_orchestration_work",
            "orchestrator",
            orchestrations.fetch_orchestration_txn,
            limit,
            lock_timeout_ms,
            owner,
            dict(known),
            instance_ids=instance_ids,
        )

    async def commit_turns(self, turns: Sequence[TurnCommit]) -> list[CommitOutcome]:
        return [result.outcome for result in await self.commit_turns_leasing(turns)]

    async def commit_turns_leasing(self, turns: Sequence[TurnCommit]) -> list[CommitResult]:
        return await self._write("commit_turns", commits.commit_turns_txn, list(turns))

    async def lock_instance(
        self, instance_id: str, lock_timeout_ms: int, owner: str, known: Mapping[str, KnownHistory]
    ) -> OrchestrationWork | None:
        held = known.get(instance_id)
        wake = Wake()
        work = await self._db.call(
            "lock_instance", self._db.lease, orchestrations.lock_instance_txn, wake,
            instance_id, lock_timeout_ms, owner, {} if held is None else {instance_id: held},
        )
        apply(wake, self._signals)
        return work

    async def abandon_orchestration(
        self,
        instance_id: str,
        lock_token: str,
        delay_ms: int = 0,
        reason: str | None = None,
        count_delivery: bool = True,
    ) -> None:
        await self._write(
            "abandon_orchestration",
            orchestrations.abandon_orchestration_txn,
            instance_id,
            lock_token,
            delay_ms,
            reason,
            count_delivery,
        )

    async def drop_messages(self, instance_id: str, lock_token: str, message_ids: Sequence[int]) -> bool:
        return await self._write(
            "drop_messages", orchestrations.drop_messages_txn, instance_id, lock_token, list(message_ids)
        )

    async def set_instance_held(self, instance_id: str, reason: str | None) -> None:
        await self._write("set_instance_held", orchestrations.set_instance_held_txn, instance_id, reason)

    # -- activities -----------------------------------------------------------------------------

    async def fetch_activity_work(
        self, limit: int, lock_timeout_ms: int, owner: str, *, instance_ids: Collection[str] | None = None
    ) -> list[ActivityWork]:
        return await self._poll(
            "fetch_activity_work",
            "worker",
            activities.fetch_activity_txn,
            limit,
            lock_timeout_ms,
            owner,
            instance_ids=instance_ids,
        )

    async def renew_activity_lock(self, work_id: int, lock_token: str, lock_timeout_ms: int) -> bool:
        return await self._write(
            "renew_activity_lock", activities.renew_activity_txn, work_id, lock_token, lock_timeout_ms
        )

    async def complete_activities(self, completions: Sequence[ActivityCompletion]) -> list[bool]:
        return await self._write("complete_activities", activities.complete_activities_txn, list(completions))

    async def abandon_activity(
        self, work_id: int, lock_token: str, delay_ms: int = 0, count_delivery: bool = True
    ) -> None:
        await self._write(
            "abandon_activity", activities.abandon_activity_txn, work_id, lock_token, delay_ms, count_delivery
        )

    # -- reads, admin and metrics ---------------------------------------------------------------

    async def get_instance(self, instance_id: str) -> InstanceRecord | None:
        return await self._read("get_instance", listing.get_instance_txn, instance_id)

    async def list_instances(
        self, status: str | None = None, name: str | None = None, limit: int = 100, filter: InstanceFilter | None = None
    ) -> list[InstanceRecord]:
        return await self._read("list_instances", listing.list_instances_txn, status, name, limit, filter)

    async def list_instances_page(
        self, filter: InstanceFilter | None = None, limit: int = 50, cursor: str | None = None
    ) -> InstanceRecordPage:
        if cursor is not None:
            listing.decode_cursor(cursor)  # a bad cursor is the caller's ValueError, not a store failure
        return await self._read("list_instances_page", listing.list_instances_page_txn, filter, limit, cursor)

    async def count_instances(self, filter: InstanceFilter | None = None) -> int:
        return await self._read("count_instances", listing.count_instances_txn, filter)

    async def list_children(self, instance_id: str) -> list[str]:
        return await self._read("list_children", admin.list_children_txn, instance_id)

    async def list_executions(self, instance_id: str) -> list[ExecutionInfo]:
        return await self._read("list_executions", admin.list_executions_txn, instance_id)

    async def read_history(self, instance_id: str, execution_id: int | None = None) -> list[HistoryEvent]:
        return await self._read("read_history", admin.read_history_txn, instance_id, execution_id)

    async def reset_execution(
        self, instance_id: str, from_execution_id: int, history: Sequence[HistoryEvent], messages: Sequence[Message]
    ) -> None:
        await self._write(
            "reset_execution", restarts.reset_execution_txn, instance_id, from_execution_id, list(history), list(messages)
        )

    async def fork_instance(self, instance_id: str, history: Sequence[HistoryEvent], messages: Sequence[Message]) -> None:
        await self._write("fork_instance", restarts.fork_instance_txn, instance_id, list(history), list(messages))

    async def delete_instances(self, instance_ids: Sequence[str]) -> int:
        return await self._write("delete_instances", admin.delete_instances_txn, list(instance_ids))

    async def prune_executions(self, instance_id: str, keep_last: int) -> int:
        return await self._write("prune_executions", admin.prune_executions_txn, instance_id, keep_last)

    async def system_metrics(self) -> SystemMetrics:
        return await self._read("system_metrics", admin.system_metrics_txn)

    async def queue_depths(self) -> QueueDepths:
        return await self._read("queue_depths", admin.queue_depths_txn)

    # -- runtimes -------------------------------------------------------------------------------

    async def register_runtimes(self, runtimes: Sequence[RuntimeInfo]) -> None:
        await self._write("register_runtimes", _runtimes.register_runtimes_txn, list(runtimes))

    async def remove_runtimes(self, worker_ids: Sequence[str] = (), seen_before_ms: int | None = None) -> int:
        return await self._write("remove_runtimes", _runtimes.remove_runtimes_txn, list(worker_ids), seen_before_ms)

    async def list_runtimes(self, seen_since_ms: int | None = None) -> list[RuntimeInfo]:
        return await self._read("list_runtimes", _runtimes.list_runtimes_txn, seen_since_ms)

    # -- notification and lifecycle -------------------------------------------------------------

    async def wait_for_work(self, queue: Queue, timeout_ms: int) -> None:
        """Return at once if this provider wrote work for ``queue`` since the last wait, as soon
        as it does, when the earliest delayed message it knows of comes due, or after
        ``timeout_ms``. Other processes' writes are noticed by the next fetch."""
        await self._signals[queue].wait(timeout_ms, self._clock.now_ms)

    async def close(self) -> None:
        await self._db.close()
