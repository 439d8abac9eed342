"""Between SQLite rows and the provider's dataclasses: JSON columns, event bodies, instance rows."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ... import payloads
from ...history import EventBody, FailureDetails, HistoryEvent, body_from_json, body_to_json
from ...messages import Message, QueuedMessage
from ..base import InstanceRecord

INSTANCE_COLUMNS = (
    "id, name, version, status, execution_id, output, error, failure, custom_status,"
    " parent_instance_id, created_at_ms, updated_at_ms, incarnation, held"
)
"""The columns ``instance_from_row`` reads, in its order."""

HISTORY_COLUMNS = "event_id, kind, timestamp_ms, body"
MESSAGE_COLUMNS = "id, instance_id, execution_id, kind, body, delivery_count"


def dump_json(value: Any) -> str | None:
    """JSON text of a payload; None (SQL NULL) for a JSON null."""
    return None if value is None else payloads.dumps(value)


def load_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def dump_failure(failure: FailureDetails | None) -> str | None:
    return None if failure is None else payloads.dumps(failure.to_json())


def load_failure(text: str | None) -> FailureDetails | None:
    return None if text is None else FailureDetails.from_json(json.loads(text))


def dump_body(body: EventBody) -> tuple[str, str]:
    """(kind, JSON text of the kind's fields) of an event or message body."""
    return type(body).__name__, payloads.dumps(body_to_json(body))


def load_body(kind: str, text: str) -> EventBody:
    return body_from_json({**json.loads(text), "kind": kind})


def instance_from_row(row: sqlite3.Row | tuple) -> InstanceRecord:
    """An InstanceRecord from a row selected with INSTANCE_COLUMNS."""
    return InstanceRecord(
        instance_id=row[0],
        name=row[1],
        version=row[2],
        status=row[3],
        execution_id=row[4],
        output=load_json(row[5]),
        error=row[6],
        failure=load_failure(row[7]),
        custom_status=load_json(row[8]),
        parent_instance_id=row[9],
        created_at_ms=row[10],
        updated_at_ms=row[11],
        incarnation=row[12],
        held=row[13],
    )


def event_from_row(row: sqlite3.Row | tuple) -> HistoryEvent:
    """A HistoryEvent from a row selected with HISTORY_COLUMNS."""
    return HistoryEvent(row[0], row[2], load_body(row[1], row[3]))


def message_from_row(row: sqlite3.Row | tuple) -> QueuedMessage:
    """A QueuedMessage from a row selected with MESSAGE_COLUMNS."""
    message = Message(instance_id=row[1], body=load_body(row[3], row[4]), execution_id=row[2])
    return QueuedMessage(message_id=row[0], message=message, delivery_count=row[5])


def first_distinct(cursor: sqlite3.Cursor, limit: int) -> list[Any]:
    """The first ``limit`` distinct values of the cursor's first column; reads no further."""
    found: dict[Any, None] = {}
    try:
        for row in cursor:
            found.setdefault(row[0])
            if len(found) >= limit:
                break
    finally:
        cursor.close()
    return list(found)
