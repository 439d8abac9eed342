"""Committing turns: each turn of a batch in its own savepoint, refused when its lease has moved on."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence

from ..base import CommitResult, TurnCommit
from .activities import remove_work_txn
from .batch_commits import BatchRefused, can_batch, commit_plain_turns_txn
from .lone_commits import can_commit_alone, commit_lone_turn_txn
from .orchestrator_queue import release_messages_txn, send_txn
from .turn_writes import (
    append_history_txn,
    enqueue_activities_txn,
    record_executions_txn,
    remove_unwanted_work_txn,
    start_instance_txn,
    update_instance_txn,
)
from .wakeups import Wake

_log = logging.getLogger("duroxide.provider")



def commit_turns_txn(
    conn: sqlite3.Connection, now_ms: int, wake: Wake, turns: Sequence[TurnCommit]
) -> list[CommitResult]:
    """Commit each turn independently (see ``commit_turn_txn``): a batch of plain turns in a few
    statements for all (``batch_commits``), a lone turn with no savepoint (``lone_commits``), else,
    or when that cannot tell, one by one."""
    if len(turns) == 1 and can_commit_alone(turns[0]):
        return [commit_lone_turn_txn(conn, now_ms, wake, turns[0])]
    if len(turns) > 1 and can_batch(turns):
        try:
            return commit_plain_turns_txn(conn, now_ms, wake, turns)
        except BatchRefused:
            pass
    return [commit_turn_txn(conn, now_ms, wake, turn) for turn in turns]


_LOCK_LOST = CommitResult("lock_lost")


class _WorkLost(Exception):
    """A work item whose result the turn carries is no longer held by its token."""


def commit_turn_txn(conn: sqlite3.Connection, now_ms: int, wake: Wake, turn: TurnCommit) -> CommitResult:
    """Write one turn inside its own savepoint; "lock_lost" (nothing written) when the lease of the
    instance, or of an activity whose result it carries, has moved on. A history row that already
    exists means another process wrote this turn's events, which is a lost lease too."""
    turn_wake = Wake()
    conn.execute("SAVEPOINT turn")
    try:
        result = _apply_turn_txn(conn, now_ms, turn_wake, turn)
    except _WorkLost:
        conn.execute("ROLLBACK TO turn")
        conn.execute("RELEASE turn")
        return _LOCK_LOST
    except sqlite3.IntegrityError as error:
        conn.execute("ROLLBACK TO turn")
        conn.execute("RELEASE turn")
        _log.warning("refused the turn of %r: %s", turn.instance_id, error)
        return _LOCK_LOST
    except BaseException:
        conn.execute("ROLLBACK TO turn")
        conn.execute("RELEASE turn")
        raise
    conn.execute("RELEASE turn")
    wake.merge(turn_wake)
    return result


_FREE_AS_ASSUMED = """
SELECT status FROM instances AS i
WHERE id = :id AND incarnation = :incarnation AND execution_id = :execution AND status IN ('Pending', 'Running')
  AND COALESCE(locked_until_ms, 0) <= :now AND COALESCE(backoff_until_ms, 0) <= :now
  AND NOT EXISTS (SELECT 1 FROM history AS h
                  WHERE h.instance_id = i.id AND h.execution_id = i.execution_id AND h.event_id > :count)
  AND NOT EXISTS (SELECT 1 FROM orchestrator_queue AS q WHERE q.instance_id = i.id AND q.visible_at_ms <= :now)
"""
"""The instance's status, if a turn run without its lock (``TurnCommit.take_lock``) may take it:
as the turn assumed, unlocked, and with nothing the turn has not seen."""


def _apply_turn_txn(conn: sqlite3.Connection, now_ms: int, wake: Wake, turn: TurnCommit) -> CommitResult:
    if turn.take_lock is None:
        row = conn.execute(
            "SELECT lock_token, locked_until_ms, status FROM instances WHERE id = ?", (turn.instance_id,)
        ).fetchone()
        if row is None or row[0] != turn.lock_token or row[1] is None or row[1] <= now_ms:
            return _LOCK_LOST
        was = row[2]
    else:  # the write lock of this transaction holds the instance until the commit releases it
        assumed = turn.take_lock
        free = conn.execute(
            _FREE_AS_ASSUMED,
            {"id": turn.instance_id, "incarnation": assumed.incarnation, "execution": turn.execution_id,
             "now": now_ms, "count": assumed.history_len},
        ).fetchone()
        if free is None:
            return _LOCK_LOST
        was = free[0]
    if not all(remove_work_txn(conn, held) for held in turn.completed_work):
        raise _WorkLost  # undoes the removals made so far
    append_history_txn(conn, turn.instance_id, turn.execution_id, turn.new_events)
    if not (was == turn.instance.status == "Running" and turn.next_execution_id is None):
        record_executions_txn(conn, now_ms, turn)  # else the execution row says Running already
    update_instance_txn(conn, now_ms, turn)
    leased = enqueue_activities_txn(conn, now_ms, wake, turn)
    for start in turn.starts:
        start_instance_txn(conn, now_ms, wake, start, turn.instance_id)
    for outgoing in turn.messages:
        send_txn(conn, now_ms, wake, outgoing.message, outgoing.visible_at_ms)
    remove_unwanted_work_txn(conn, turn)
    if turn.take_lock is None:
        release_messages_txn(conn, now_ms, wake, turn.instance_id, turn.lock_token, turn.consumed_message_ids)
    else:  # it fetched no message: only a later one (a timer) to wake a dispatcher for
        (earliest,) = conn.execute(
            "SELECT MIN(visible_at_ms) FROM orchestrator_queue WHERE instance_id = ?", (turn.instance_id,)
        ).fetchone()
        if earliest is not None:
            wake.work_at("orchestrator", earliest, now_ms)
    return CommitResult("committed", tuple(leased))
