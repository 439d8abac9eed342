"""Committing a turn that is its operation's only work: one check, then its writes, no savepoint.

Every step of a chain commits one turn alone. ``commit_turn_txn`` gives it a savepoint and
checks as it writes (the lease, then each work item as it removes it, then the history row as it
inserts it), undoing what it wrote when a check fails: some twelve statements a step, each a trip
through the sqlite3 module, which lets go of the GIL and must win it back from the event loop.

Here every check the turn needs is made first, by one read that answers in one row (``_check``):
the instance's lease (held by the turn's token, or for a turn that takes the lock, free and as
the turn assumed), the work items whose results it carries, whether a row of its history exists
already, and -- for what to wake a dispatcher for afterwards -- the earliest message left for the
instance and whether the fetch tagged one the turn did not consume. A refused turn has written
nothing, so it needs no savepoint. One that passes is then written a statement per kind of row.

Nothing those writes do can be refused by a constraint once the checks passed (the history
primary key was checked, every other insert is to a table without a unique key, or an upsert),
and the transaction's write lock keeps any other connection from changing what was checked. Any
other error (the disk is full) propagates: the caller undoes the operation, which is this turn
alone. Turns that start instances stay on the savepoint path: a start inserts rows under keys of
other instances, which the check does not look at.
"""

from __future__ import annotations

import json
import logging
import sqlite3

from ..base import TERMINAL_STATUSES, ActivityWork, CommitResult, TurnCommit
from ..stored import activity_body
from .activities import lease_new_activity_txn
from .orchestrator_queue import send_txn
from .rows import values_chunks
from .turn_writes import (
    append_turns_history_txn,
    enqueue_activities_txn,
    record_executions_txn,
    remove_unwanted_work_txn,
    update_instance_txn,
)
from .wakeups import Wake

_log = logging.getLogger("duroxide.provider")

_LOCK_LOST = CommitResult("lock_lost")

_HOLDS_LOCK = "COALESCE(i.lock_token = :token AND i.locked_until_ms > :now, 0)"
"""The turn's token holds the instance's unexpired lease."""

_FREE_AS_ASSUMED = """
  i.incarnation = :incarnation AND i.execution_id = :execution AND i.status IN ('Pending', 'Running')
  AND COALESCE(i.locked_until_ms, 0) <= :now AND COALESCE(i.backoff_until_ms, 0) <= :now
  AND NOT EXISTS (SELECT 1 FROM history AS h
                  WHERE h.instance_id = i.id AND h.execution_id = i.execution_id AND h.event_id > :count)
  AND NOT EXISTS (SELECT 1 FROM orchestrator_queue AS q WHERE q.instance_id = i.id AND q.visible_at_ms <= :now)
"""
"""A turn run without the lock (``TurnCommit.take_lock``) may take it: the instance is as the
turn assumed, unlocked, and holds nothing the turn has not seen (``commits._FREE_AS_ASSUMED``)."""

_CHECK = """
SELECT ({may_commit}), i.status, {held_work},
  {history_taken},
  (SELECT MIN(q.visible_at_ms) FROM orchestrator_queue AS q WHERE q.instance_id = i.id AND q.id NOT IN ({consumed})),
  {tagged_left}
FROM instances AS i WHERE i.id = :id
"""
"""One row, if the instance exists: whether the lease lets the turn commit, the status before it,
how many of its completed work items their tokens still hold, whether one of its events is stored
already, the earliest message the turn leaves queued, and whether its fetch tagged one it did not
consume (which its commit must untag)."""

_HELD_WORK = (
    "(SELECT COUNT(*) FROM (VALUES {pairs}) AS v CROSS JOIN worker_queue AS w ON w.id = v.column1"
    " WHERE w.lock_token = v.column2)"
)

_HELD_ONE = "(SELECT COUNT(*) FROM worker_queue AS w WHERE w.id = :w0 AND w.lock_token = :t0)"

_HISTORY_TAKEN = (
    "EXISTS (SELECT 1 FROM history AS h"
    " WHERE h.instance_id = i.id AND h.execution_id = :execution AND h.event_id {event_ids})"
)
"""Whether one of the turn's event ids is stored: ``BETWEEN :e0 AND :e1`` when they run on without
a gap (one seek; an ``IN`` list costs a temporary table per run), else ``IN (:e0, ...)``."""

_TAGGED_LEFT = (
    "EXISTS (SELECT 1 FROM orchestrator_queue AS q"
    " WHERE q.instance_id = i.id AND q.lock_token = :token AND q.id NOT IN ({consumed}))"
)

_checks: dict[tuple[bool, int, int, int, bool], str] = {}
"""The check's text for each shape of turn (takes the lock; work items, consumed messages and
event ids to look for; those ids a range), built once: the sqlite3 module prepares each text
once and caches it."""

_REMOVE_WORK = "DELETE FROM worker_queue WHERE id IN (SELECT value FROM json_each(?))"

_CONSUME = "DELETE FROM orchestrator_queue WHERE instance_id = ? AND id IN (SELECT value FROM json_each(?))"

_QUEUE_ACTIVITIES = "INSERT INTO worker_queue (instance_id, execution_id, event_id, body, visible_at_ms) VALUES "

_UNTAG = "UPDATE orchestrator_queue SET lock_token = NULL WHERE instance_id = ? AND lock_token = ?"


def can_commit_alone(turn: TurnCommit) -> bool:
    """Whether ``commit_lone_turn_txn`` may commit the turn: it starts no instance and completes
    no work item twice."""
    if turn.starts:
        return False
    work = [held.work_id for held in turn.completed_work]
    return len(set(work)) == len(work)


def commit_lone_turn_txn(conn: sqlite3.Connection, now_ms: int, wake: Wake, turn: TurnCommit) -> CommitResult:
    """Commit ``turn`` (``can_commit_alone``) as ``commit_turn_txn`` would, the only work of its
    operation: "lock_lost", with nothing written, when a check fails."""
    row = _check(conn, now_ms, turn)
    if row is None or not row[0] or row[2] != len(turn.completed_work):
        return _LOCK_LOST
    was, history_taken, earliest, tagged_left = row[1], row[3], row[4], row[5]
    if history_taken:
        _log.warning("refused the turn of %r: a history row of its events exists already", turn.instance_id)
        return _LOCK_LOST
    turn_wake = Wake()
    append_turns_history_txn(conn, [turn])
    if len(turn.completed_work) == 1:
        conn.execute("DELETE FROM worker_queue WHERE id = ?", (turn.completed_work[0].work_id,))
    elif turn.completed_work:
        conn.execute(_REMOVE_WORK, (json.dumps([held.work_id for held in turn.completed_work]),))
    ends = turn.next_execution_id is not None or turn.instance.status in TERMINAL_STATUSES
    if ends or not (was == turn.instance.status == "Running"):
        record_executions_txn(conn, now_ms, turn)  # else the execution row says Running already
    update_instance_txn(conn, now_ms, turn)
    leased = _enqueue_activities_txn(conn, now_ms, turn_wake, turn, ends)
    for outgoing in turn.messages:  # each wakes a dispatcher for itself
        send_txn(conn, now_ms, turn_wake, outgoing.message, outgoing.visible_at_ms)
    remove_unwanted_work_txn(conn, turn)
    if turn.take_lock is None:
        if turn.consumed_message_ids:
            conn.execute(_CONSUME, (turn.instance_id, json.dumps(list(turn.consumed_message_ids))))
        if tagged_left:
            conn.execute(_UNTAG, (turn.instance_id, turn.lock_token))
    if ends:  # the end removed queued messages the check saw: look again
        (earliest,) = conn.execute(
            "SELECT MIN(visible_at_ms) FROM orchestrator_queue WHERE instance_id = ?", (turn.instance_id,)
        ).fetchone()
    if earliest is not None:
        turn_wake.work_at("orchestrator", earliest, now_ms)
    wake.merge(turn_wake)
    return CommitResult("committed", tuple(leased))


def _check(conn: sqlite3.Connection, now_ms: int, turn: TurnCommit) -> tuple | None:
    """The row of ``_CHECK`` for the turn (None: no such instance)."""
    assumed = turn.take_lock
    consumed = turn.consumed_message_ids if assumed is None else ()  # a turn taking the lock fetched none
    event_ids = [event.event_id for event in turn.new_events]
    if assumed is not None and all(event_id > assumed.history_len for event_id in event_ids):
        event_ids = []  # the check that nothing follows the history the turn assumed covers them
    ranged = bool(event_ids) and event_ids == list(range(event_ids[0], event_ids[0] + len(event_ids)))
    if ranged:
        event_ids = [event_ids[0], event_ids[-1]]
    shape = (assumed is not None, len(turn.completed_work), len(consumed), len(event_ids), ranged)
    sql = _checks.get(shape)
    if sql is None:
        sql = _checks[shape] = _check_text(*shape)
    params: dict[str, object] = {"id": turn.instance_id, "now": now_ms, "execution": turn.execution_id}
    if assumed is None:
        params["token"] = turn.lock_token
    else:
        params["incarnation"] = assumed.incarnation
        params["count"] = assumed.history_len
    for n, held in enumerate(turn.completed_work):
        params[f"w{n}"], params[f"t{n}"] = held.work_id, held.lock_token
    for n, message_id in enumerate(consumed):
        params[f"c{n}"] = message_id
    for n, event_id in enumerate(event_ids):
        params[f"e{n}"] = event_id
    row: tuple | None = conn.execute(sql, params).fetchone()
    return row


def _check_text(takes_lock: bool, works: int, consumed: int, events: int, ranged: bool) -> str:
    pairs = ", ".join(f"(:w{n}, :t{n})" for n in range(works))
    consumed_ids = ", ".join(f":c{n}" for n in range(consumed))
    event_ids = "BETWEEN :e0 AND :e1" if ranged else "IN (" + ", ".join(f":e{n}" for n in range(events)) + ")"
    return _CHECK.format(
        may_commit=_FREE_AS_ASSUMED if takes_lock else _HOLDS_LOCK,
        held_work=_HELD_WORK.format(pairs=pairs) if works > 1 else _HELD_ONE if works else "0",
        history_taken=_HISTORY_TAKEN.format(event_ids=event_ids) if events else "0",
        consumed=consumed_ids,
        tagged_left="0" if takes_lock else _TAGGED_LEFT.format(consumed=consumed_ids),
    )


def _enqueue_activities_txn(
    conn: sqlite3.Connection, now_ms: int, wake: Wake, turn: TurnCommit, ends: bool
) -> list[ActivityWork]:
    """``turn_writes.enqueue_activities_txn``, with the activities not leased (a fan-out's
    thousand) queued by multi-row inserts instead of one statement each."""
    if len(turn.activities) <= 1:
        return enqueue_activities_txn(conn, now_ms, wake, turn)
    lease = turn.lease_activities
    limit = 0 if lease is None or ends else lease.limit
    leased = []
    if lease is not None:
        leased = [lease_new_activity_txn(conn, now_ms, turn.instance_id, activity, lease) for activity in turn.activities[:limit]]
    rows = [
        (turn.instance_id, activity.execution_id, activity.event_id, activity_body(activity), now_ms)
        for activity in turn.activities[limit:]
    ]
    for values, params in values_chunks(rows):
        conn.execute(_QUEUE_ACTIVITIES + values, params)
    if rows:
        wake.work_now("worker")
    return leased
