"""Between SQLite rows and the provider's dataclasses: JSON columns, event bodies, instance rows."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
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


_encode_rows = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


class NotAsJson(Exception):
    """A row list ``rows_json`` cannot hand to SQLite: write those rows one statement each."""


def rows_json(rows: Any) -> str:
    """Rows for one statement over ``json_each(:rows)``, as JSON text in UTF-8 as it is (SQLite
    reads every value back unchanged). SQLite would cut a text at a NUL character, so rows with
    one (or with the six characters of its escape) raise NotAsJson."""
    text = _encode_rows(rows)
    if "\\u0000" in text:
        raise NotAsJson
    return text


_CHUNKS = (64, 32, 16, 8, 4, 2, 1)
"""Rows per statement of ``values_chunks``: a few statement texts, each prepared once and cached
by the sqlite3 module, however many rows a batch holds."""

_PLACES: dict[tuple[int, int], str] = {}


def values_chunks(rows: Sequence[Sequence[Any]]) -> Iterator[tuple[str, list[Any]]]:
    """The rows (all of one width) as multi-row ``VALUES`` lists: per statement to run, the text
    of its rows' placeholders, ``(?, ?), (?, ?)``, and the parameters, flat. One statement
    binds many rows with no JSON in between; the row counts are powers of two (``_CHUNKS``)."""
    if not rows:
        return
    width = len(rows[0])
    start = 0
    for size in _CHUNKS:
        while len(rows) - start >= size:
            places = _PLACES.get((width, size))
            if places is None:
                places = _PLACES[width, size] = ", ".join(["(" + ", ".join("?" * width) + ")"] * size)
            yield places, [value for row in rows[start:start + size] for value in row]
            start += size


def dump_json(value: Any) -> str | None:
    """JSON text of a payload; None (SQL NULL) for a JSON null."""
    return None if value is None else payloads.dumps(value)


class UnreadableRow(Exception):
    """A stored row that cannot be decoded (JSON that does not parse, an unknown event kind, a
    missing field); the message names the row. The provider turns it into a ProviderError that
    is not retryable, or, in a fetch, into the work's ``unreadable`` marker."""


_DECODING_ERRORS = (ValueError, TypeError, KeyError, AttributeError, RecursionError)
"""What decoding a damaged row raises (a JSONDecodeError is a ValueError)."""


def load_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def dump_failure(failure: FailureDetails | None) -> str | None:
    return None if failure is None else payloads.dumps(failure.to_json())


def load_failure(text: str | None) -> FailureDetails | None:
    return None if text is None else FailureDetails.from_json(json.loads(text))


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".splitlines()[0]


def dump_body(body: EventBody) -> tuple[str, str]:
    """(kind, JSON text of the kind's fields) of an event or message body."""
    return type(body).__name__, payloads.dumps(body_to_json(body))


def load_body(kind: str, text: str) -> EventBody:
    return body_from_json({**json.loads(text), "kind": kind})


def instance_from_row(row: sqlite3.Row | tuple) -> InstanceRecord:
    """An InstanceRecord from a row selected with INSTANCE_COLUMNS; UnreadableRow when one of its
    JSON columns cannot be decoded."""
    try:
        return _instance_from_row(row, load_json(row[5]), load_failure(row[7]), load_json(row[8]))
    except _DECODING_ERRORS as error:
        raise UnreadableRow(f"the row of instance {row[0]!r} cannot be read ({_describe(error)})") from error


def instance_from_row_leniently(row: sqlite3.Row | tuple) -> tuple[InstanceRecord, str | None]:
    """The record, with every JSON column that cannot be decoded left None, and what could not
    be read (None when everything could)."""
    try:
        return instance_from_row(row), None
    except UnreadableRow as unreadable:
        values = []
        for load, text in ((load_json, row[5]), (load_failure, row[7]), (load_json, row[8])):
            try:
                values.append(load(text))
            except _DECODING_ERRORS:
                values.append(None)
        return _instance_from_row(row, *values), str(unreadable)


def _instance_from_row(row: sqlite3.Row | tuple, output: Any, failure: Any, custom_status: Any) -> InstanceRecord:
    return InstanceRecord(
        instance_id=row[0],
        name=row[1],
        version=row[2],
        status=row[3],
        execution_id=row[4],
        output=output,
        error=row[6],
        failure=failure,
        custom_status=custom_status,
        parent_instance_id=row[9],
        created_at_ms=row[10],
        updated_at_ms=row[11],
        incarnation=row[12],
        held=row[13],
    )


def event_from_row(row: sqlite3.Row | tuple, instance_id: str, execution_id: int) -> HistoryEvent:
    """A HistoryEvent from a row selected with HISTORY_COLUMNS; UnreadableRow (naming the
    instance, the execution and the event) when its body cannot be decoded."""
    try:
        return HistoryEvent(row[0], row[2], load_body(row[1], row[3]))
    except _DECODING_ERRORS as error:
        raise UnreadableRow(
            f"event {row[0]} ({row[1]}) of execution {execution_id} of instance {instance_id!r} cannot be read"
            f" ({_describe(error)})"
        ) from error


def message_from_row(row: sqlite3.Row | tuple) -> QueuedMessage:
    """A QueuedMessage from a row selected with MESSAGE_COLUMNS; UnreadableRow (naming the
    message and its instance) when its body cannot be decoded."""
    try:
        message = Message(instance_id=row[1], body=load_body(row[3], row[4]), execution_id=row[2])
    except _DECODING_ERRORS as error:
        raise UnreadableRow(
            f"queued message {row[0]} ({row[3]}) for instance {row[1]!r} cannot be read ({_describe(error)})"
        ) from error
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
