"""Putting messages on the orchestrator queue."""

from __future__ import annotations

import logging
import sqlite3

from ...messages import Message
from .rows import dump_body
from .wakeups import Wake

_log = logging.getLogger("duroxide.provider")


def instance_exists_txn(conn: sqlite3.Connection, instance_id: str) -> bool:
    return conn.execute("SELECT 1 FROM instances WHERE id = ?", (instance_id,)).fetchone() is not None


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
    if instance_exists_txn(conn, message.instance_id):
        enqueue_txn(conn, now_ms, wake, message, visible_at_ms)
    else:
        _log.debug("dropped a %s message for the unknown instance %r", type(message.body).__name__, message.instance_id)
