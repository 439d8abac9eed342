"""Reading instances: one by id (``duroxide status``), and listing and counting them by filter,
with keyset pagination (``duroxide list``).

The order is newest first: ``created_at_ms`` descending, then ``rowid`` descending (insertion
order for equal times). A cursor names the last row of a page by that key, so the next page
starts strictly after it: rows inserted meanwhile (higher rowids, newer times) never shift the
rows still to come, as an offset would. On the wire a cursor is base64url text of
``[created_at_ms, rowid]``, opaque to callers.
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from typing import Any

from ..base import InstanceFilter, InstanceRecord, InstanceRecordPage
from .rows import INSTANCE_COLUMNS, instance_from_row

_ORDER = " ORDER BY created_at_ms DESC, rowid DESC"


def get_instance_txn(conn: sqlite3.Connection, now_ms: int, instance_id: str) -> InstanceRecord | None:
    row = conn.execute(f"SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = ?", (instance_id,)).fetchone()
    return None if row is None else instance_from_row(row)


def list_instances_txn(
    conn: sqlite3.Connection, now_ms: int, status: str | None, name: str | None, limit: int, filter: InstanceFilter | None
) -> list[InstanceRecord]:
    """Newest first; ``status`` and ``name`` hold together with ``filter``."""
    where, params = _where(filter or InstanceFilter())
    if status is not None:
        where.append("status = :status")
        params["status"] = status
    if name is not None:
        where.append("name = :name")
        params["name"] = name
    rows = conn.execute(f"SELECT {INSTANCE_COLUMNS} FROM instances{_clause(where)}{_ORDER} LIMIT :limit", {**params, "limit": limit})
    return [instance_from_row(row) for row in rows]


def list_instances_page_txn(
    conn: sqlite3.Connection, now_ms: int, filter: InstanceFilter | None, limit: int, cursor: str | None
) -> InstanceRecordPage:
    """One page after ``cursor``; reads one row more than ``limit`` to know whether more exist."""
    where, params = _where(filter or InstanceFilter())
    if cursor is not None:
        created_at_ms, rowid = decode_cursor(cursor)
        where.append("(created_at_ms < :after_created OR (created_at_ms = :after_created AND rowid < :after_rowid))")
        params.update(after_created=created_at_ms, after_rowid=rowid)
    rows = conn.execute(
        f"SELECT {INSTANCE_COLUMNS}, created_at_ms, rowid FROM instances{_clause(where)}{_ORDER} LIMIT :limit",
        {**params, "limit": limit + 1},
    ).fetchall()
    page = rows[:limit]
    more = len(rows) > limit and bool(page)
    next_cursor = encode_cursor(page[-1][-2], page[-1][-1]) if more else None
    return InstanceRecordPage([instance_from_row(row) for row in page], next_cursor)


def count_instances_txn(conn: sqlite3.Connection, now_ms: int, filter: InstanceFilter | None) -> int:
    where, params = _where(filter or InstanceFilter())
    (count,) = conn.execute(f"SELECT COUNT(*) FROM instances{_clause(where)}", params).fetchone()
    return int(count)


def encode_cursor(created_at_ms: int, rowid: int) -> str:
    """The cursor that resumes after the row (created_at_ms, rowid)."""
    raw = json.dumps([created_at_ms, rowid], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    """The key a cursor names; ValueError for text that is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        value = None
    if not (isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)):
        raise ValueError(f"{cursor!r} is not a cursor of this store (use the one a listing printed)")
    return value[0], value[1]


def _where(filter: InstanceFilter) -> tuple[list[str], dict[str, Any]]:
    where: list[str] = []
    params: dict[str, Any] = {}
    if filter.statuses:
        names = {f"status_{i}": status for i, status in enumerate(filter.statuses)}
        where.append(f"status IN ({', '.join(':' + name for name in names)})")
        params.update(names)
    if filter.name is not None:
        where.append("name = :filter_name")
        params["filter_name"] = filter.name
    if filter.id_prefix:
        where.append("substr(id, 1, :prefix_length) = :id_prefix")
        params.update(prefix_length=len(filter.id_prefix), id_prefix=filter.id_prefix)
    if filter.created_since_ms is not None:
        where.append("created_at_ms >= :since")
        params["since"] = filter.created_since_ms
    if filter.created_until_ms is not None:
        where.append("created_at_ms < :until")
        params["until"] = filter.created_until_ms
    if filter.top_level:
        where.append("parent_instance_id IS NULL")
    return where, params


def _clause(where: list[str]) -> str:
    return f" WHERE {' AND '.join(where)}" if where else ""
