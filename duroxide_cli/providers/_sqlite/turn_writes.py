"""The rows a turn writes, one statement (or a few) per kind of row: shared by the commit of a
turn in its own savepoint (``commits``) and of a turn that is its transaction's only work
(``lone_commits``)."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence

from ...history import HistoryEvent
from ..base import TERMINAL_STATUSES, ActivityWork, InstanceStart, TurnCommit
from .activities import insert_activity_txn, lease_new_activity_txn
from .orchestrations import insert_instance_txn
from .orchestrator_queue import send_txn
from .rows import dump_body, dump_failure, dump_json, values_chunks
from .wakeups import Wake

_log = logging.getLogger("duroxide.provider")

_UPSERT_EXECUTION = """
INSERT INTO executions (instance_id, execution_id, status, started_at_ms, ended_at_ms) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (instance_id, execution_id) DO UPDATE SET
  status = excluded.status,
  ended_at_ms = CASE WHEN excluded.ended_at_ms IS NULL THEN NULL
                     ELSE COALESCE(executions.ended_at_ms, excluded.ended_at_ms) END
"""


def enqueue_activities_txn(conn: sqlite3.Connection, now_ms: int, wake: Wake, turn: TurnCommit) -> list[ActivityWork]:
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


_APPEND_HISTORIES = "INSERT INTO history (instance_id, execution_id, event_id, kind, timestamp_ms, body) VALUES "


def append_turns_history_txn(conn: sqlite3.Connection, turns: Sequence[TurnCommit]) -> None:
    """Store the new events of ``turns`` by multi-row inserts (a few statements for many rows)."""
    rows = []
    for turn in turns:
        for event in turn.new_events:
            kind, body = dump_body(event.body)
            rows.append((turn.instance_id, turn.execution_id, event.event_id, kind, event.timestamp_ms, body))
    for values, params in values_chunks(rows):
        conn.execute(_APPEND_HISTORIES + values, params)


def record_executions_txn(conn: sqlite3.Connection, now_ms: int, turn: TurnCommit) -> None:
    """The turn's execution row; on continue-as-new it ends Completed and the next one begins."""
    status = turn.instance.status
    if turn.next_execution_id is not None:
        conn.execute(_UPSERT_EXECUTION, (turn.instance_id, turn.execution_id, "Completed", now_ms, now_ms))
        conn.execute(_UPSERT_EXECUTION, (turn.instance_id, turn.next_execution_id, status, now_ms, None))
    else:
        ended = now_ms if status in TERMINAL_STATUSES else None
        conn.execute(_UPSERT_EXECUTION, (turn.instance_id, turn.execution_id, status, now_ms, ended))


def update_instance_txn(conn: sqlite3.Connection, now_ms: int, turn: TurnCommit) -> None:
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


def start_instance_txn(conn: sqlite3.Connection, now_ms: int, wake: Wake, start: InstanceStart, starter: str) -> None:
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


def remove_unwanted_work_txn(conn: sqlite3.Connection, turn: TurnCommit) -> None:
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
