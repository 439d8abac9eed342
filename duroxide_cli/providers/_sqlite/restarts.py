"""New executions from copied histories: an instance reset to an event, or forked into a new one."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence

from ...errors import InstanceAlreadyExistsError, InstanceNotFoundError, ProviderError
from ...history import HistoryEvent, OrchestrationStarted
from ...messages import Message
from .orchestrator_queue import enqueue_txn, instance_exists_txn
from .turn_writes import append_history_txn
from .wakeups import Wake

_REDONE_KINDS = ("TimerFired", "ActivityCompleted", "ActivityFailed")
"""Results of work the new execution schedules again: left queued, they would arrive twice."""


def reset_execution_txn(
    conn: sqlite3.Connection,
    now_ms: int,
    wake: Wake,
    instance_id: str,
    from_execution_id: int,
    history: Sequence[HistoryEvent],
    messages: Sequence[Message],
) -> None:
    """Move the instance to execution ``from_execution_id + 1`` (see ``Provider.reset_execution``)."""
    row = conn.execute("SELECT execution_id FROM instances WHERE id = ?", (instance_id,)).fetchone()
    if row is None:
        raise InstanceNotFoundError(instance_id)
    if row[0] != from_execution_id:
        raise ProviderError(
            "reset_execution", f"instance '{instance_id}' moved on to execution {row[0]} meanwhile; look again and retry"
        )
    new = from_execution_id + 1
    conn.execute(
        "UPDATE executions SET ended_at_ms = COALESCE(ended_at_ms, ?),"
        " status = CASE WHEN status IN ('Pending', 'Running') THEN 'Cancelled' ELSE status END"
        " WHERE instance_id = ? AND execution_id = ?",
        (now_ms, instance_id, from_execution_id),
    )
    conn.execute(
        "INSERT INTO executions (instance_id, execution_id, status, started_at_ms) VALUES (?, ?, 'Running', ?)",
        (instance_id, new, now_ms),
    )
    append_history_txn(conn, instance_id, new, history)
    conn.execute(
        "UPDATE instances SET status = 'Running', execution_id = ?, output = NULL, error = NULL, failure = NULL,"
        " custom_status = NULL, held = NULL, updated_at_ms = ?,"
        " lock_token = NULL, lock_owner = NULL, locked_until_ms = NULL, backoff_until_ms = NULL WHERE id = ?",
        (new, now_ms, instance_id),
    )
    conn.execute("DELETE FROM worker_queue WHERE instance_id = ?", (instance_id,))
    conn.execute(
        f"DELETE FROM orchestrator_queue WHERE instance_id = ? AND execution_id <= ? AND kind IN ({', '.join('?' * len(_REDONE_KINDS))})",
        (instance_id, from_execution_id, *_REDONE_KINDS),
    )
    for message in messages:
        enqueue_txn(conn, now_ms, wake, message, None)


def fork_instance_txn(
    conn: sqlite3.Connection,
    now_ms: int,
    wake: Wake,
    instance_id: str,
    history: Sequence[HistoryEvent],
    messages: Sequence[Message],
) -> None:
    """Create a Running instance from a copied history (see ``Provider.fork_instance``)."""
    if instance_exists_txn(conn, instance_id):
        raise InstanceAlreadyExistsError(instance_id)
    started = history[0].body if history else None
    if not isinstance(started, OrchestrationStarted):
        raise ValueError("a forked history starts with an OrchestrationStarted event")
    conn.execute(
        "INSERT INTO instances (id, name, version, status, execution_id, created_at_ms, updated_at_ms, incarnation)"
        " VALUES (?, ?, ?, 'Running', 1, ?, ?, ?)",
        (instance_id, started.name, started.version, now_ms, now_ms, uuid.uuid4().hex),
    )
    conn.execute(
        "INSERT INTO executions (instance_id, execution_id, status, started_at_ms) VALUES (?, 1, 'Running', ?)",
        (instance_id, now_ms),
    )
    append_history_txn(conn, instance_id, 1, history)
    for message in messages:
        enqueue_txn(conn, now_ms, wake, message, None)
