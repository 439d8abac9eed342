"""Putting messages on the orchestrator queue."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence

from ...messages import Message
from .rows import dump_body, values_chunks
from .wakeups import Wake

_log = logging.getLogger("duroxide.provider")


def instance_exists_txn(conn: sqlite3.Connection, instance_id: str) -> bool:
    return conn.execute("SELECT 1 FROM instances WHERE id = ?", (instance_id,)).fetchone() is not None


def holds_lock_txn(conn: sqlite3.Connection, now_ms: int, instance_id: str, lock_token: str) -> bool:
    """Whether ``lock_token`` holds the instance's lease and it has not expired."""
    row = conn.execute("SELECT lock_token, locked_until_ms FROM instances WHERE id = ?", (instance_id,)).fetchone()
    return row is not None and row[0] == lock_token and row[1] is not None and row[1] > now_ms


def enqueue_txn(conn: sqlite3.Connection, now_ms: int, wake: Wake, message: Message, visible_at_ms: int | None) -> None:
    """Queue ``message`` for its instance, visible at ``visible_at_ms`` (None: at once).

    The caller has made sure the instance exists.
    """
    visible = now_ms if visible_at_ms is None else visible_at_ms
    kind, body = dump_body(message.body)
    conn.execute(
        "INSERT INTO orchestrator_queue (instance_id, execution_id, kind, body, visible_at_ms) VALUES (?, ?, ?, ?, ?)",
        (message.instance_id, message.execution_id, kind, body, visible),
    )
    wake.work_at("orchestrator", visible, now_ms)


def send_txn(conn: sqlite3.Connection, now_ms: int, wake: Wake, message: Message, visible_at_ms: int | None) -> None:
    """Queue a message one instance sends another; dropped when the target no longer exists
    (a parent deleted while its child ran), since nothing could ever fetch it."""
    visible = now_ms if visible_at_ms is None else visible_at_ms
    kind, body = dump_body(message.body)
    cursor = conn.execute(  # the existence check and the insert in one statement
        "INSERT INTO orchestrator_queue (instance_id, execution_id, kind, body, visible_at_ms)"
        " SELECT id, ?, ?, ?, ? FROM instances WHERE id = ?",
        (message.execution_id, kind, body, visible, message.instance_id),
    )
    if cursor.rowcount == 1:
        wake.work_at("orchestrator", visible, now_ms)
    else:
        _log.debug("dropped a %s message for the unknown instance %r", type(message.body).__name__, message.instance_id)


def send_all_txn(conn: sqlite3.Connection, now_ms: int, wake: Wake, messages: Sequence[Message]) -> None:
    """``send_txn`` for each message, visible at once, in the order given (a multi-row insert per
    ``values_chunks`` chunk, not one statement per message)."""
    rows = []
    for message in messages:
        kind, body = dump_body(message.body)
        rows.append((message.instance_id, message.execution_id, kind, body, now_ms))
    sent = 0
    for values, params in values_chunks(rows):
        sent += conn.execute(_SEND_ALL.format(values=values), params).rowcount
    if sent > 0:
        wake.work_at("orchestrator", now_ms, now_ms)
    if sent < len(rows):
        _log.debug("dropped %d messages for unknown instances", len(rows) - sent)


_SEND_ALL = """
INSERT INTO orchestrator_queue (instance_id, execution_id, kind, body, visible_at_ms)
SELECT v.column1, v.column2, v.column3, v.column4, v.column5 FROM (VALUES {values}) AS v
WHERE EXISTS (SELECT 1 FROM instances AS i WHERE i.id = v.column1)
"""
"""Queue the rows whose instance exists, in row order."""


def release_messages_txn(
    conn: sqlite3.Connection, now_ms: int, wake: Wake, instance_id: str, lock_token: str, consumed: Sequence[int]
) -> None:
    """Delete the ``consumed`` messages of the instance and unlock the rest of those ``lock_token``
    fetched, which wake a dispatcher when visible."""
    if consumed:
        conn.executemany(
            "DELETE FROM orchestrator_queue WHERE id = ? AND instance_id = ?",
            [(message_id, instance_id) for message_id in consumed],
        )
    conn.execute(
        "UPDATE orchestrator_queue SET lock_token = NULL WHERE instance_id = ? AND lock_token = ?",
        (instance_id, lock_token),
    )
    (earliest,) = conn.execute(
        "SELECT MIN(visible_at_ms) FROM orchestrator_queue WHERE instance_id = ?", (instance_id,)
    ).fetchone()
    if earliest is not None:
        wake.work_at("orchestrator", earliest, now_ms)
