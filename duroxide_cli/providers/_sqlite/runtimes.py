"""The runtimes that serve the store (``duroxide workers``): their rows and heartbeats."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..base import RuntimeInfo

if TYPE_CHECKING:  # ``list_runtimes_txn`` also serves ``reads``, which runs without asyncio
    from .wakeups import Wake

_COLUMNS = "worker_id, host, pid, app, started_at_ms, last_seen_at_ms"


def register_runtimes_txn(conn: sqlite3.Connection, now_ms: int, wake: Wake, runtimes: Sequence[RuntimeInfo]) -> None:
    conn.executemany(
        f"INSERT OR REPLACE INTO runtimes ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
        [(r.worker_id, r.host, r.pid, r.app, r.started_at_ms, r.last_seen_at_ms) for r in runtimes],
    )


def remove_runtimes_txn(
    conn: sqlite3.Connection, now_ms: int, wake: Wake, worker_ids: Sequence[str], seen_before_ms: int | None
) -> int:
    removed = 0
    for worker_id in dict.fromkeys(worker_ids):
        removed += conn.execute("DELETE FROM runtimes WHERE worker_id = ?", (worker_id,)).rowcount
    if seen_before_ms is not None:
        removed += conn.execute("DELETE FROM runtimes WHERE last_seen_at_ms < ?", (seen_before_ms,)).rowcount
    return removed


def list_runtimes_txn(conn: sqlite3.Connection, now_ms: int, seen_since_ms: int | None) -> list[RuntimeInfo]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM runtimes WHERE last_seen_at_ms >= ? ORDER BY started_at_ms, worker_id",
        (seen_since_ms if seen_since_ms is not None else -(2**62),),
    )
    return [RuntimeInfo(*row) for row in rows]
