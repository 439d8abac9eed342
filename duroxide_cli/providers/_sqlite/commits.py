"""Committing turns: each turn of a batch in its own savepoint, refused when its lease has moved on."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence

from ...history import HistoryEvent
from ..base import TERMINAL_STATUSES, ActivityWork, CommitResult, InstanceStart, TurnCommit
from .activities import insert_activity_txn, lease_new_activity_txn, remove_work_txn
from .batch_commits import BatchRefused, can_batch, commit_plain_turns_txn
from .orchestrations import insert_instance_txn
from .orchestrator_queue import release_messages_txn, send_txn
from .rows import dump_body, dump_failure, dump_json
from .wakeups import Wake

_log = logging.getLogger("duroxide.provider")

_UPSERT_EXECUTION = """
INSERT INTO executions (instance_id, execution_id, status, started_at_ms, ended_at_ms) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (instance_id, execution_id) DO UPDATE SET
  status = excluded.status,
  ended_at_ms = CASE WHEN excluded.ended_at_ms IS NULL THEN NULL
                     ELSE COALESCE(executions.ended_at_ms, excluded.ended_at_ms) END
"""


def commit_turns_txn(
    conn: sqlite3.Connection, now_ms: int, wake: Wake, turns: Sequence[TurnCommit]
) -> list[CommitResult]:
    """Commit each turn independently (see ``commit_turn_txn``): a batch of plain turns in a few
    statements for all (``batch_commits``), else, or when that cannot tell, one by one."""
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
    _append_events_txn(conn, turn)
    if not (was == turn.instance.status == "Running" and turn.next_execution_id is None):
        _record_executions_txn(conn, now_ms, turn)  # else the execution row says Running already
    _update_instance_txn(conn, now_ms, turn)
    leased = _enqueue_activities_txn(conn, now_ms, wake, turn)
    for start in turn.starts:
        _start_instance_txn(conn, now_ms, wake, start, turn.instance_id)
    for outgoing in turn.messages:
        send_txn(conn, now_ms, wake, outgoing.message, outgoing.visible_at_ms)
    _remove_unwanted_work_txn(conn, turn)
    if turn.take_lock is None:
        release_messages_txn(conn, now_ms, wake, turn.instance_id, turn.lock_token, turn.consumed_message_ids)
    else:  # it fetched no message: only a later one (a timer) to wake a dispatcher for
        (earliest,) = conn.execute(
            "SELECT MIN(visible_at_ms) FROM orchestrator_queue WHERE instance_id = ?", (turn.instance_id,)
        ).fetchone()
        if earliest is not None:
            wake.work_at("orchestrator", earliest, now_ms)
    return CommitResult("committed", tuple(leased))


def _enqueue_activities_txn(conn: sqlite3.Connection, now_ms: int, wake: Wake, turn: TurnCommit) -> list[ActivityWork]:
    """Queue the turn's activities, the first ``lease_activities.limit`` of them leased to the
    committing process unless the turn ends its execution; returns those."""
    lease = turn.lease_activities
    ends = turn.next_execution_id is not None or turn.instance.status in TERMINAL_STATUSES
    limit = 0 if lease is None or ends else lease.limit  # the end removes them below: nothing to run
    leased = []
    for position, activity in enumerate(turn.activities):
        if lease is not None and position < limit:
            leased.append(lease_new_activity_txn(conn, now_ms, turn.instance_id, activity, lease))
        else:
            insert_activity_txn(conn, now_ms, wake, turn.instance_id, activity)
    return leased


def _append_events_txn(conn: sqlite3.Connection, turn: TurnCommit) -> None:
    append_history_txn(conn, turn.instance_id, turn.execution_id, turn.new_events)


def append_history_txn(conn: sqlite3.Connection, instance_id: str, execution_id: int, events: Sequence[HistoryEvent]) -> None:
    """Insert ``events`` into the history of one execution (an existing event id is an IntegrityError)."""
    rows = []
    for event in events:
        kind, body = dump_body(event.body)
        rows.append((instance_id, execution_id, event.event_id, kind, event.timestamp_ms, body))
    conn.executemany(
        "INSERT INTO history (instance_id, execution_id, event_id, kind, timestamp_ms, body) VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )


def _record_executions_txn(conn: sqlite3.Connection, now_ms: int, turn: TurnCommit) -> None:
    """The turn's execution row; on continue-as-new it ends Completed and the next one begins."""
    status = turn.instance.status
    if turn.next_execution_id is not None:
        conn.execute(_UPSERT_EXECUTION, (turn.instance_id, turn.execution_id, "Completed", now_ms, now_ms))
        conn.execute(_UPSERT_EXECUTION, (turn.instance_id, turn.next_execution_id, status, now_ms, None))
    else:
        ended = now_ms if status in TERMINAL_STATUSES else None
        conn.execute(_UPSERT_EXECUTION, (turn.instance_id, turn.execution_id, status, now_ms, ended))


def _update_instance_txn(conn: sqlite3.Connection, now_ms: int, turn: TurnCommit) -> None:
    """Write the instance row and release its lock (and any back-off); a dispatched instance is not held."""
    update = turn.instance
    conn.execute(
        "UPDATE instances SET status = ?, version = ?, output = ?, error = ?, failure = ?, custom_status = ?,"
        " updated_at_ms = ?, execution_id = COALESCE(?, execution_id), held = NULL,"
        " lock_token = NULL, lock_owner = NULL, locked_until_ms = NULL, backoff_until_ms = NULL"
        " WHERE id = ?",
        (
            update.status,
            update.version,
            dump_json(update.output),
            update.error,
            dump_failure(update.failure),
            dump_json(update.custom_status),
            now_ms,
            turn.next_execution_id,
            turn.instance_id,
        ),
    )


def _start_instance_txn(conn: sqlite3.Connection, now_ms: int, wake: Wake, start: InstanceStart, starter: str) -> None:
    """Create the new instance, or when its id is taken send ``on_conflict`` instead (without
    one, the start is ignored with a warning)."""
    if insert_instance_txn(conn, now_ms, wake, start.start):
        return
    if start.on_conflict is not None:
        send_txn(conn, now_ms, wake, start.on_conflict, None)
    else:
        _log.warning(
            "instance %r already exists: its start by %r (ctx.start_orchestration) was ignored",
            start.start.instance_id, starter, extra={"instance_id": starter},
        )


def _remove_unwanted_work_txn(conn: sqlite3.Connection, turn: TurnCommit) -> None:
    """Drop work nobody will use: cancelled activity ids and, when the turn ends its execution,
    everything still queued for that execution or an earlier one (activity work, timers,
    completions); events and cancels carry no execution and stay."""
    if turn.cancel_activities:
        conn.executemany(
            "DELETE FROM worker_queue WHERE instance_id = ? AND event_id = ?",
            [(turn.instance_id, event_id) for event_id in turn.cancel_activities],
        )
    if turn.next_execution_id is None and turn.instance.status not in TERMINAL_STATUSES:
        return
    ended = (turn.instance_id, turn.execution_id)
    conn.execute("DELETE FROM worker_queue WHERE instance_id = ? AND execution_id <= ?", ended)
    conn.execute("DELETE FROM orchestrator_queue WHERE instance_id = ? AND execution_id <= ?", ended)
