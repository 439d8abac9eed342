"""Listing and counting instances by filter, with keyset pagination (``duroxide list``).

Newest first: ``created_at_ms`` descending, then ``seq`` (the insertion order) descending. A
cursor is base64url text of ``[created_at_ms, seq]`` of a page's last row, opaque to callers;
the next page starts strictly after it, so rows inserted meanwhile never shift it.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from ..base import InstanceFilter
from .codec import INSTANCE_COLUMNS

_ORDER = " ORDER BY created_at_ms DESC, seq DESC"


class Query:
    """A SELECT over instances with numbered parameters."""

    def __init__(self) -> None:
        self.where: list[str] = []
        self.args: list[Any] = []

    def param(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def clause(self) -> str:
        return f" WHERE {' AND '.join(self.where)}" if self.where else ""


def filtered(filter: InstanceFilter | None, status: str | None = None, name: str | None = None) -> Query:
    """The conditions of ``filter`` (plus the ``status``/``name`` shorthands)."""
    filter = filter or InstanceFilter()
    query = Query()
    if filter.statuses:
        query.where.append(f"status = ANY ({query.param(list(filter.statuses))}::text[])")
    if status is not None:
        query.where.append(f"status = {query.param(status)}")
    for value in (filter.name, name):
        if value is not None:
            query.where.append(f"name = {query.param(value)}")
    if filter.id_prefix:
        query.where.append(f"starts_with(id, {query.param(filter.id_prefix)})")
    if filter.created_since_ms is not None:
        query.where.append(f"created_at_ms >= {query.param(filter.created_since_ms)}::bigint")
    if filter.created_until_ms is not None:
        query.where.append(f"created_at_ms < {query.param(filter.created_until_ms)}::bigint")
    if filter.top_level:
        query.where.append("parent_instance_id IS NULL")
    return query


def list_sql(query: Query, limit: int) -> str:
    return f"SELECT {INSTANCE_COLUMNS} FROM instances{query.clause()}{_ORDER} LIMIT {query.param(limit)}"


def page_sql(query: Query, limit: int, cursor: str | None) -> str:
    """One row more than ``limit``, to know whether more exist."""
    if cursor is not None:
        created_at_ms, seq = decode_cursor(cursor)
        after_created, after_seq = query.param(created_at_ms), query.param(seq)
        query.where.append(
            f"(created_at_ms < {after_created}::bigint OR (created_at_ms = {after_created}::bigint"
            f" AND seq < {after_seq}::bigint))"
        )
    return f"SELECT {INSTANCE_COLUMNS}, seq FROM instances{query.clause()}{_ORDER} LIMIT {query.param(limit + 1)}"


def count_sql(query: Query) -> str:
    return f"SELECT count(*) FROM instances{query.clause()}"


def encode_cursor(created_at_ms: int, seq: int) -> str:
    raw = json.dumps([created_at_ms, seq], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    """The key a cursor names; ValueError for text that is not one of ours."""
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        value = None
    if not (isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)):
        raise ValueError(f"{cursor!r} is not a cursor of this store (use the one a listing printed)")
    return value[0], value[1]
