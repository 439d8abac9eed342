"""The shared store: PostgreSQL (asyncpg) behind the Provider protocol.

Any number of processes on any number of machines share one schema and split the work: fetches
lock rows with ``FOR UPDATE SKIP LOCKED`` (a row another process is taking is skipped, not
waited for) and lease them until a time judged by the server's clock, so machines whose clocks
disagree still agree on when a lease ends; lock tokens fence a process that lost its lease.

Each call is one statement, most of them a call of one of the schema's functions
(``_postgres/sql``), so a turn, a batch of turns or a batch of completions costs one network
round trip; a batch commits in one transaction, each item committed or refused on its own.
Creations, messages and single-instance locks that callers start while one is on its way share
the next statement (``_postgres/grouping.py``). New work wakes idle
dispatchers in every process through LISTEN/NOTIFY; polling stays the fallback. A dropped
connection or a restarting server is a retryable ProviderError: the runtime tries again, and
lock tokens make a repeated write harmless. A stored row that cannot be decoded fails only its
own instance in a fetch and is a ProviderError that is not retryable elsewhere (see
providers/base.py, "Unreadable rows").
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar, get_args

import asyncpg

from ..clock import Clock
from ..errors import ConfigError, InstanceAlreadyExistsError, InstanceNotFoundError, ProviderError
from ..history import HistoryEvent, OrchestrationStarted
from ..messages import Message
from ..model.options import RuntimeOptions
from ._postgres import codec, listing
from ._postgres import statements as sql
from ._postgres.database import Database, check_schema_name, describe, drop_schema
from ._postgres.grouping import GroupedWrites
from ._postgres.lone_turns import commit_lone_turn, is_lone_turn
from ._postgres.migrations import check_version, migrate
from ._postgres.notifications import Listener
from .base import (
    ActivityCompletion,
    ActivityWork,
    CommitOutcome,
    CommitResult,
    ExecutionInfo,
    InstanceFilter,
    InstanceRecord,
    InstanceRecordPage,
    InstanceStatus,
    KnownHistory,
    OrchestrationWork,
    Queue,
    QueueDepths,
    RuntimeInfo,
    SystemMetrics,
    TurnCommit,
)

_log = logging.getLogger("duroxide.provider")

T = TypeVar("T")

DEFAULT_POOL_SIZE = 10
"""Connections of a provider opened without a size (a Client, a command that reads)."""


def pool_size_for(options: RuntimeOptions) -> int:
    """Connections a runtime with ``options`` keeps busy: its two fetch loops, group commits and
    completions, plus a share of its turns and activities (lock renewals, abandons)."""
    return 4 + math.ceil(options.orchestration_concurrency / 4) + math.ceil(options.activity_concurrency / 4)


class PostgresProvider:
    """The PostgreSQL store. Create it with ``await PostgresProvider.connect(url, schema=...)``;
    release it with ``await provider.close()``."""

    def __init__(self, database: Database, listener: Listener):
        """Use ``connect``; this wraps an open pool and its listener."""
        self._db = database
        self._listener = listener
        self._creates: GroupedWrites[list[Any], bool] = GroupedWrites(self._insert_instances)
        self._sends: GroupedWrites[list[Any], bool] = GroupedWrites(self._send_each)
        self._locks: GroupedWrites[list[Any], Any] = GroupedWrites(self._lock_each)

    @classmethod
    async def connect(
        cls,
        url: str,
        schema: str = "duroxide",
        *,
        pool_size: int | None = None,
        clock: Clock | None = None,
        create: bool = True,
        read_only: bool = False,
    ) -> PostgresProvider:
        """Connect to the database ``url`` names and use ``schema`` in it, creating the schema and
        its tables on first use (and migrating an older one). ``pool_size``: connections at most
        (default ``DEFAULT_POOL_SIZE``; ``pool_size_for(options)`` fits a runtime). ``clock``
        replaces the server's clock as the store clock (tests). ``create=False`` opens only a store
        that exists: a missing schema raises StoreNotFoundError instead of being created.
        ``read_only=True`` (reading commands) also never migrates: the schema must exist and be at
        this code's version, as for ``SqliteProvider.open(read_only=True)``, so a reader never
        upgrades a store that older processes still use.

        Raises ConfigError for a schema name that is not a plain identifier, a schema written by a
        newer duroxide or (``read_only``) by an older one, ProviderError when the server cannot be reached.
        """
        check_schema_name(schema)
        where = describe(url, schema)
        database = await Database.connect(url, schema, pool_size or DEFAULT_POOL_SIZE, clock, where)
        try:
            if read_only:
                await database.run("open", lambda conn: check_version(conn, schema, where))
            else:
                await database.run("open", lambda conn: migrate(conn, schema, where, create))
            listener = Listener(url, schema)
            await listener.start()
        except ProviderError as error:
            await database.close()
            if isinstance(error.__cause__, asyncpg.UndefinedObjectError) and "configuration parameter" in str(error.__cause__):
                # asyncpg passes a URL parameter it does not know to the server as a setting
                raise ConfigError(
                    f"store URL for {where}: {error.__cause__}; a PostgreSQL URL takes ?schema=NAME and the"
                    " connection parameters of libpq (sslmode, ...)"
                ) from None
            raise
        except BaseException:
            await database.close()
            raise
        return cls(database, listener)

    @staticmethod
    async def drop_schema(url: str, schema: str) -> None:
        """Remove ``schema`` from the database ``url`` names, with every table and row in it (a
        schema that does not exist is no error). Close the providers open on it first: the drop
        waits for their transactions. Raises ConfigError for a name that is not a plain
        identifier, ProviderError when the server cannot be reached."""
        check_schema_name(schema)
        await drop_schema(url, schema, describe(url, schema))

    def __repr__(self) -> str:
        return f"PostgresProvider({self._db.where!r})"

    # -- instances and messages -------------------------------------------------------------------

    async def create_instance(self, start: Message) -> None:
        if not await self._creates.submit(codec.start_fields(start)):
            raise InstanceAlreadyExistsError(start.instance_id)

    async def enqueue_message(self, message: Message, visible_at_ms: int | None = None) -> None:
        if not await self._sends.submit([*codec.message_fields(message), visible_at_ms]):
            raise InstanceNotFoundError(message.instance_id)

    async def _insert_instances(self, starts: Sequence[list[Any]]) -> list[bool]:
        """Creations that arrived together, in one statement (see ``_postgres/grouping.py``)."""
        if len(starts) == 1:
            return [await self._db.fetchval("create_instance", sql.CREATE_INSTANCE, self._db.now(), *starts[0])]
        return list(await self._db.fetchval("create_instance", sql.CREATE_INSTANCES, self._db.now(), json.dumps(starts)))

    async def _send_each(self, messages: Sequence[list[Any]]) -> list[bool]:
        """Messages that arrived together, in one statement."""
        if len(messages) == 1:
            return [await self._db.fetchval("enqueue_message", sql.ENQUEUE_MESSAGE, self._db.now(), *messages[0])]
        return list(await self._db.fetchval("enqueue_message", sql.ENQUEUE_MESSAGES, self._db.now(), json.dumps(messages)))

    async def fetch_orchestration_work(
        self,
        limit: int,
        lock_timeout_ms: int,
        owner: str,
        known: Mapping[str, KnownHistory],
        *,
        instance_ids: Collection[str] | None = None,
    ) -> list[OrchestrationWork]:
        if limit <= 0 or (instance_ids is not None and not instance_ids):
            return []
        scope = None if instance_ids is None else sorted(set(instance_ids))
        document = await self._db.fetchval(
            "fetch_orchestration_work",
            sql.FETCH_ORCHESTRATION_WORK,
            self._db.now(), limit, lock_timeout_ms, owner, *codec.known_lists(known), scope,
        )
        found = self._learn("orchestrator", document)
        return [codec.orchestration_work(work) for work in found]

    async def commit_turns(self, turns: Sequence[TurnCommit]) -> list[CommitOutcome]:
        return [result.outcome for result in await self.commit_turns_leasing(turns)]

    async def commit_turns_leasing(self, turns: Sequence[TurnCommit]) -> list[CommitResult]:
        if not turns:
            return []
        if len(turns) == 1 and is_lone_turn(turns[0]):
            return [await commit_lone_turn(self._db, turns[0])]
        statement = sql.COMMIT_TURNS_TAKING_LOCKS if any(turn.take_lock for turn in turns) else sql.COMMIT_TURNS
        document = await self._db.fetchval("commit_turns", statement, self._db.now(), codec.turns_json(turns))
        results: list[CommitResult] = []
        for turn, result in zip(turns, json.loads(document), strict=True):
            for ignored in result["ignored"]:
                _log.warning(
                    "instance %r already exists: its start by %r (ctx.start_orchestration) was ignored",
                    ignored, turn.instance_id, extra={"instance_id": turn.instance_id},
                )
            leased = tuple(codec.activity_work(fields) for fields in result.get("leased") or ())
            results.append(CommitResult(result["outcome"], leased))
        return results

    async def lock_instance(
        self, instance_id: str, lock_timeout_ms: int, owner: str, known: Mapping[str, KnownHistory]
    ) -> OrchestrationWork | None:
        held = known.get(instance_id)
        request = [instance_id, lock_timeout_ms, owner, *((None, None, None) if held is None else held)]
        work = await self._locks.submit(request)
        return None if work is None else codec.orchestration_work(work)

    async def _lock_each(self, requests: Sequence[list[Any]]) -> list[Any]:
        """Locks that arrived together, in one statement; each one's work as parsed JSON, or None."""
        if len(requests) == 1:
            document = await self._db.fetchval("lock_instance", sql.LOCK_INSTANCE, self._db.now(), *requests[0])
            return [None if document is None else json.loads(document)]
        return list(json.loads(await self._db.fetchval("lock_instance", sql.LOCK_INSTANCES, self._db.now(), json.dumps(requests))))

    async def abandon_orchestration(
        self,
        instance_id: str,
        lock_token: str,
        delay_ms: int = 0,
        reason: str | None = None,
        count_delivery: bool = True,
    ) -> None:
        await self._db.fetchval(
            "abandon_orchestration",
            sql.ABANDON_ORCHESTRATION,
            self._db.now(), instance_id, lock_token, delay_ms, reason, count_delivery,
        )

    async def drop_messages(self, instance_id: str, lock_token: str, message_ids: Sequence[int]) -> bool:
        return bool(
            await self._db.fetchval(
                "drop_messages", sql.DROP_MESSAGES, self._db.now(), instance_id, lock_token, list(message_ids)
            )
        )

    async def set_instance_held(self, instance_id: str, reason: str | None) -> None:
        await self._db.execute("set_instance_held", sql.SET_INSTANCE_HELD, self._db.now(), instance_id, reason)

    # -- activities -----------------------------------------------------------------------------

    async def fetch_activity_work(
        self, limit: int, lock_timeout_ms: int, owner: str, *, instance_ids: Collection[str] | None = None
    ) -> list[ActivityWork]:
        if limit <= 0 or (instance_ids is not None and not instance_ids):
            return []
        scope = None if instance_ids is None else sorted(set(instance_ids))
        document = await self._db.fetchval(
            "fetch_activity_work", sql.FETCH_ACTIVITY_WORK, self._db.now(), limit, lock_timeout_ms, owner, scope
        )
        return [codec.activity_work(fields) for fields in self._learn("worker", document)]

    async def renew_activity_lock(self, work_id: int, lock_token: str, lock_timeout_ms: int) -> bool:
        status = await self._db.execute(
            "renew_activity_lock", sql.RENEW_ACTIVITY_LOCK, self._db.now(), work_id, lock_token, lock_timeout_ms
        )
        return status == "UPDATE 1"

    async def complete_activities(self, completions: Sequence[ActivityCompletion]) -> list[bool]:
        if not completions:
            return []
        results = await self._db.fetchval(
            "complete_activities", sql.COMPLETE_ACTIVITIES, self._db.now(), codec.completions_json(completions)
        )
        return list(results)

    async def abandon_activity(
        self, work_id: int, lock_token: str, delay_ms: int = 0, count_delivery: bool = True
    ) -> None:
        await self._db.execute(
            "abandon_activity", sql.ABANDON_ACTIVITY, self._db.now(), work_id, lock_token, delay_ms, count_delivery
        )

    # -- reads, admin and metrics ---------------------------------------------------------------

    async def get_instance(self, instance_id: str) -> InstanceRecord | None:
        row = await self._db.fetchrow("get_instance", sql.GET_INSTANCE, instance_id)
        return None if row is None else self._decoded("get_instance", lambda: codec.instance_from_row(row))

    async def list_instances(
        self, status: str | None = None, name: str | None = None, limit: int = 100, filter: InstanceFilter | None = None
    ) -> list[InstanceRecord]:
        query = listing.filtered(filter, status, name)
        rows = await self._db.fetch("list_instances", listing.list_sql(query, limit), *query.args)
        return self._decoded("list_instances", lambda: [codec.instance_from_row(row) for row in rows])

    async def list_instances_page(
        self, filter: InstanceFilter | None = None, limit: int = 50, cursor: str | None = None
    ) -> InstanceRecordPage:
        query = listing.filtered(filter)
        statement = listing.page_sql(query, limit, cursor)  # a bad cursor is the caller's ValueError
        rows = await self._db.fetch("list_instances_page", statement, *query.args)
        page = rows[:limit]
        more = len(rows) > limit and bool(page)
        next_cursor = listing.encode_cursor(page[-1]["created_at_ms"], page[-1]["seq"]) if more else None
        records = self._decoded("list_instances_page", lambda: [codec.instance_from_row(row) for row in page])
        return InstanceRecordPage(records, next_cursor)

    async def count_instances(self, filter: InstanceFilter | None = None) -> int:
        query = listing.filtered(filter)
        return int(await self._db.fetchval("count_instances", listing.count_sql(query), *query.args))

    async def list_children(self, instance_id: str) -> list[str]:
        return [row["id"] for row in await self._db.fetch("list_children", sql.LIST_CHILDREN, instance_id)]

    async def list_executions(self, instance_id: str) -> list[ExecutionInfo]:
        rows = await self._db.fetch("list_executions", sql.LIST_EXECUTIONS, instance_id)
        return [ExecutionInfo(*row) for row in rows]

    async def read_history(self, instance_id: str, execution_id: int | None = None) -> list[HistoryEvent]:
        rows = await self._db.fetch("read_history", sql.READ_HISTORY, instance_id, execution_id)
        return self._decoded(
            "read_history", lambda: [codec.event_from_fields(tuple(row)[:4], instance_id, row["execution_id"]) for row in rows]
        )

    async def delete_instances(self, instance_ids: Sequence[str]) -> int:
        return int(await self._db.fetchval("delete_instances", sql.DELETE_INSTANCES, list(dict.fromkeys(instance_ids))))

    async def prune_executions(self, instance_id: str, keep_last: int) -> int:
        return int(await self._db.fetchval("prune_executions", sql.PRUNE_EXECUTIONS, instance_id, keep_last))

    async def reset_execution(
        self, instance_id: str, from_execution_id: int, history: Sequence[HistoryEvent], messages: Sequence[Message]
    ) -> None:
        result = await self._db.fetchval(
            "reset_execution", sql.RESET_EXECUTION, self._db.now(), instance_id, from_execution_id,
            codec.events_json(history), codec.messages_json(messages),
        )
        if result == "missing":
            raise InstanceNotFoundError(instance_id)
        if result != "reset":
            raise ProviderError(
                "reset_execution", f"instance '{instance_id}' moved on to execution {result} meanwhile; look again and retry"
            )

    async def fork_instance(self, instance_id: str, history: Sequence[HistoryEvent], messages: Sequence[Message]) -> None:
        started = history[0].body if history else None
        if not isinstance(started, OrchestrationStarted):
            raise ValueError("a forked history starts with an OrchestrationStarted event")
        created = await self._db.fetchval(
            "fork_instance", sql.FORK_INSTANCE, self._db.now(), instance_id, started.name, started.version,
            codec.events_json(history), codec.messages_json(messages),
        )
        if not created:
            raise InstanceAlreadyExistsError(instance_id)

    async def register_runtimes(self, runtimes: Sequence[RuntimeInfo]) -> None:
        if runtimes:
            await self._db.execute("register_runtimes", sql.REGISTER_RUNTIMES, codec.runtimes_json(runtimes))

    async def remove_runtimes(self, worker_ids: Sequence[str] = (), seen_before_ms: int | None = None) -> int:
        return int(await self._db.fetchval("remove_runtimes", sql.REMOVE_RUNTIMES, list(worker_ids), seen_before_ms))

    async def list_runtimes(self, seen_since_ms: int | None = None) -> list[RuntimeInfo]:
        rows = await self._db.fetch("list_runtimes", sql.LIST_RUNTIMES, seen_since_ms)
        return [RuntimeInfo(*row) for row in rows]

    async def system_metrics(self) -> SystemMetrics:
        by_status = dict.fromkeys(_STATUSES, 0)
        for row in await self._db.fetch("system_metrics", sql.INSTANCES_BY_STATUS):
            by_status[row["status"]] = row["count"]
        return SystemMetrics(by_status=by_status, total=sum(by_status.values()))

    async def queue_depths(self) -> QueueDepths:
        row = await self._db.fetchrow("queue_depths", sql.QUEUE_DEPTHS, self._db.now())
        assert row is not None
        return QueueDepths(orchestrator=row["orchestrator"], worker=row["worker"], timer=row["timer"])

    # -- notification and lifecycle -------------------------------------------------------------

    async def wait_for_work(self, queue: Queue, timeout_ms: int) -> None:
        """Return when a NOTIFY for ``queue`` arrives from any process (this one included), when
        what the last empty fetch said would come due does, or after ``timeout_ms``."""
        await self._listener.wait(queue, timeout_ms)

    async def close(self) -> None:
        await self._creates.close()
        await self._sends.close()
        await self._locks.close()
        await self._listener.close()
        await self._db.close()

    def _decoded(self, operation: str, decode: Callable[[], T]) -> T:
        """``decode()``, with a row that cannot be decoded as a ProviderError that is not retryable."""
        try:
            return decode()
        except codec.UnreadableRow as error:
            raise ProviderError(operation, f"{error} ({self._db.where})", retryable=False) from error

    def _learn(self, queue: Queue, document: str) -> list[Any]:
        """The work of a fetch's document; an empty one tells the queue's signal when to look again."""
        parsed = json.loads(document)
        if not parsed["work"]:
            self._listener.signals[queue].due_in(parsed["next_due_in_ms"])
        return parsed["work"]


_STATUSES: tuple[str, ...] = get_args(InstanceStatus)
"""In the order every store reports them (``metrics``)."""
