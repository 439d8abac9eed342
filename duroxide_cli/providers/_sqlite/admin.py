"""Reads, deletes and metrics for people and tools (``duroxide history``, ``delete``, ``metrics``);
one instance and lists of them are read in ``listing``."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import get_args

from ...history import HistoryEvent
from ..base import ExecutionInfo, InstanceStatus, QueueDepths, SystemMetrics
from .orchestrations import read_events_txn
from .wakeups import Wake

_STATUSES: tuple[str, ...] = get_args(InstanceStatus)

_INSTANCE_TABLES = ("history", "executions", "orchestrator_queue", "worker_queue")
"""Tables whose rows belong to an instance through their ``instance_id``."""


def list_children_txn(conn: sqlite3.Connection, now_ms: int, instance_id: str) -> list[str]:
    """Child ids in creation order."""
    rows = conn.execute(
        "SELECT id FROM instances WHERE parent_instance_id = ? ORDER BY created_at_ms, rowid", (instance_id,)
    )
    return [row[0] for row in rows]


def list_executions_txn(conn: sqlite3.Connection, now_ms: int, instance_id: str) -> list[ExecutionInfo]:
    rows = conn.execute(
        "SELECT e.execution_id, e.status, COUNT(h.event_id), e.started_at_ms, e.ended_at_ms"
        " FROM executions AS e LEFT JOIN history AS h"
        "   ON h.instance_id = e.instance_id AND h.execution_id = e.execution_id"
        " WHERE e.instance_id = ? GROUP BY e.execution_id ORDER BY e.execution_id",
        (instance_id,),
    )
    return [ExecutionInfo(*row) for row in rows]


def read_history_txn(
    conn: sqlite3.Connection, now_ms: int, instance_id: str, execution_id: int | None
) -> list[HistoryEvent]:
    """One execution's events (the instance's current one when None); empty for an unknown instance."""
    if execution_id is None:
        row = conn.execute("SELECT execution_id FROM instances WHERE id = ?", (instance_id,)).fetchone()
        if row is None:
            return []
        execution_id = row[0]
    return read_events_txn(conn, instance_id, execution_id)


def delete_instances_txn(conn: sqlite3.Connection, now_ms: int, wake: Wake, instance_ids: Sequence[str]) -> int:
    """Delete the instances and every row of theirs; returns how many instances existed."""
    existed = 0
    for instance_id in dict.fromkeys(instance_ids):
        existed += conn.execute("DELETE FROM instances WHERE id = ?", (instance_id,)).rowcount
        for table in _INSTANCE_TABLES:
            conn.execute(f"DELETE FROM {table} WHERE instance_id = ?", (instance_id,))
    return existed


def prune_executions_txn(conn: sqlite3.Connection, now_ms: int, wake: Wake, instance_id: str, keep_last: int) -> int:
    """Delete all but the newest ``keep_last`` executions (rows and histories); returns how many."""
    rows = conn.execute(
        "SELECT execution_id FROM executions WHERE instance_id = ? ORDER BY execution_id DESC LIMIT -1 OFFSET ?",
        (instance_id, keep_last),
    ).fetchall()
    for (execution_id,) in rows:
        conn.execute("DELETE FROM history WHERE instance_id = ? AND execution_id = ?", (instance_id, execution_id))
        conn.execute("DELETE FROM executions WHERE instance_id = ? AND execution_id = ?", (instance_id, execution_id))
    return len(rows)


def system_metrics_txn(conn: sqlite3.Connection, now_ms: int) -> SystemMetrics:
    """Instance counts for every status (zero included) and the total."""
    by_status = dict.fromkeys(_STATUSES, 0)
    for status, count in conn.execute("SELECT status, COUNT(*) FROM instances GROUP BY status"):
        by_status[status] = count
    return SystemMetrics(by_status=by_status, total=sum(by_status.values()))


def queue_depths_txn(conn: sqlite3.Connection, now_ms: int) -> QueueDepths:
    visible, delayed = conn.execute(
        "SELECT COALESCE(SUM(visible_at_ms <= ?), 0), COALESCE(SUM(visible_at_ms > ?), 0) FROM orchestrator_queue",
        (now_ms, now_ms),
    ).fetchone()
    (worker,) = conn.execute("SELECT COUNT(*) FROM worker_queue").fetchone()
    return QueueDepths(orchestrator=visible, worker=worker, timer=delayed)
