"""A commit of one turn that takes its instance's lock (``TurnCommit.take_lock``), alone in its call.

This is each step of a chain of activities run by one process: the activity's result goes in,
the next activity comes back leased to the committing process. Such a turn goes to
``commit_lone_turn_taking_lock`` (migration 008) as plain parameters and arrays instead of the JSON
document of a batch, so neither side builds or parses a document, and the server runs a
handful of statements without a subtransaction: the statement is the whole transaction, so a
refusal that is only found while writing (a result whose lease moved on, an event id that is
taken) is an error that undoes everything, and is read here as "lock_lost", as the batch's
savepoint would have had it.

Turns that do more (messages, starts, cancellations, continue-as-new, consumed messages) and
batches of several turns keep going to ``commit_turns_taking_locks``.
"""

from __future__ import annotations

import asyncpg

from ... import payloads
from ..base import CommitResult, TurnCommit
from ..stored import activity_body
from . import codec
from . import statements as sql
from .database import Database

LEASE_LOST = "DXL01"
"""The SQLSTATE ``commit_lone_turn_taking_lock`` raises when a result the turn carries has lost its lease."""

_LOCK_LOST = CommitResult("lock_lost")


def is_lone_turn(turn: TurnCommit) -> bool:
    """Whether ``turn`` is one ``commit_lone_turn_taking_lock`` commits: it takes its lock and only
    appends events, updates its instance, schedules activities and carries results."""
    return (
        turn.take_lock is not None
        and turn.next_execution_id is None
        and not turn.messages
        and not turn.starts
        and not turn.cancel_activities
        and not turn.consumed_message_ids
    )


async def commit_lone_turn(db: Database, turn: TurnCommit) -> CommitResult:
    """Commit ``turn`` (``is_lone_turn``) by itself, as ``commit_turns_leasing`` would."""
    assert turn.take_lock is not None
    update = turn.instance
    lease = turn.lease_activities
    events = [codec.dump_body(event.body) for event in turn.new_events]
    args = (
        db.now(), turn.instance_id, turn.take_lock.incarnation, turn.execution_id, turn.take_lock.history_len,
        [event.event_id for event in turn.new_events], [kind for kind, _ in events],
        [event.timestamp_ms for event in turn.new_events], [body for _, body in events],
        update.status, update.version, codec.dump_json(update.output), update.error,
        None if update.failure is None else payloads.dumps(update.failure.to_json()), codec.dump_json(update.custom_status),
        [a.execution_id for a in turn.activities], [a.event_id for a in turn.activities],
        [activity_body(a) for a in turn.activities],
        None if lease is None else lease.owner, None if lease is None else lease.lock_timeout_ms,
        None if lease is None else lease.limit,
        [held.work_id for held in turn.completed_work], [held.lock_token for held in turn.completed_work],
    )

    async def commit(conn: asyncpg.Connection) -> str | None | CommitResult:
        try:
            return await conn.fetchval(sql.COMMIT_LONE_TURN_TAKING_LOCK, *args)
        except asyncpg.UniqueViolationError:
            return _LOCK_LOST  # another process wrote this turn's events
        except asyncpg.PostgresError as error:
            if getattr(error, "sqlstate", None) == LEASE_LOST:
                return _LOCK_LOST
            raise

    document = await db.run("commit_turns", commit)
    if document is None:
        return _LOCK_LOST
    if isinstance(document, CommitResult):
        return document
    return CommitResult("committed", tuple(codec.activity_work(fields) for fields in codec.load_json(document)))
