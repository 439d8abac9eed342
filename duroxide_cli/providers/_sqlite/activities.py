"""The worker queue: activity work items, leased by lock token."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence

from ..base import ActivityCompletion, ActivityLease, ActivityWork, HeldWork, NewActivity
from ..stored import activity_body, activity_from_body
from .orchestrator_queue import send_all_txn, send_txn
from .wakeups import Wake

_LEASE = """
UPDATE worker_queue SET lock_token = :token || '.' || id, lock_owner = :owner, locked_until_ms = :until,
  delivery_count = delivery_count + 1
WHERE id IN (
  SELECT id FROM worker_queue
  WHERE visible_at_ms <= :now AND COALESCE(locked_until_ms, 0) <= :now
  ORDER BY visible_at_ms, id LIMIT :limit)
RETURNING visible_at_ms, id, lock_token, instance_id, execution_id, event_id, body, delivery_count
"""
"""Lease the oldest visible, unlocked items in one statement, each with a token of its own (the
fetch's fresh ``:token`` and the item's id)."""

_LEASE_IN_SCOPE = """
UPDATE worker_queue SET lock_token = :token || '.' || id, lock_owner = :owner, locked_until_ms = :until,
  delivery_count = delivery_count + 1
WHERE id IN (
  SELECT q.id FROM (SELECT DISTINCT value FROM json_each(:scope)) AS s CROSS JOIN worker_queue AS q ON q.instance_id = s.value
  WHERE q.visible_at_ms <= :now AND COALESCE(q.locked_until_ms, 0) <= :now
  ORDER BY q.visible_at_ms, q.id LIMIT :limit)
RETURNING visible_at_ms, id, lock_token, instance_id, execution_id, event_id, body, delivery_count
"""
"""The same, for the instances named in the JSON list ``:scope`` only (through the instance index)."""

_NEXT_DUE = """
SELECT MIN(due) FROM (
  SELECT MIN(visible_at_ms) AS due FROM worker_queue WHERE visible_at_ms > :now
  UNION ALL SELECT MIN(locked_until_ms) FROM worker_queue WHERE locked_until_ms > :now
)
"""
"""No later than the moment an item next becomes visible or its lease ends."""


def insert_activity_txn(
    conn: sqlite3.Connection, now_ms: int, wake: Wake, instance_id: str, activity: NewActivity
) -> None:
    """Queue one activity of ``instance_id``, visible at once."""
    conn.execute(
        "INSERT INTO worker_queue (instance_id, execution_id, event_id, body, visible_at_ms) VALUES (?, ?, ?, ?, ?)",
        (instance_id, activity.execution_id, activity.event_id, activity_body(activity), now_ms),
    )
    wake.work_now("worker")


def lease_new_activity_txn(
    conn: sqlite3.Connection, now_ms: int, instance_id: str, activity: NewActivity, lease: ActivityLease
) -> ActivityWork:
    """Queue one activity of ``instance_id`` already leased to ``lease.owner`` (one delivery
    counted, as a fetch counts it); it wakes no fetcher."""
    token = uuid.uuid4().hex
    cursor = conn.execute(
        "INSERT INTO worker_queue (instance_id, execution_id, event_id, body, visible_at_ms,"
        " lock_token, lock_owner, locked_until_ms, delivery_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)",
        (
            instance_id, activity.execution_id, activity.event_id, activity_body(activity), now_ms,
            token, lease.owner, now_ms + lease.lock_timeout_ms,
        ),
    )
    assert cursor.lastrowid is not None
    return ActivityWork(cursor.lastrowid, token, instance_id, activity, 1)


def remove_work_txn(conn: sqlite3.Connection, held: HeldWork) -> bool:
    """Delete the work item if ``held.lock_token`` holds it; whether it did."""
    cursor = conn.execute("DELETE FROM worker_queue WHERE id = ? AND lock_token = ?", (held.work_id, held.lock_token))
    return cursor.rowcount == 1


def fetch_activity_txn(
    conn: sqlite3.Connection,
    now_ms: int,
    wake: Wake,
    limit: int,
    lock_timeout_ms: int,
    owner: str,
    scope: str | None,
) -> list[ActivityWork]:
    """Lock up to ``limit`` visible, unlocked work items, oldest first, each with its own token;
    only the work of the instances named in ``scope`` (a JSON list of ids) unless it is None.

    When nothing is found, records in ``wake`` when the next item comes due.
    """
    params = {"now": now_ms, "limit": limit, "token": uuid.uuid4().hex, "owner": owner, "until": now_ms + lock_timeout_ms}
    if scope is None:
        rows = conn.execute(_LEASE, params).fetchall()  # fetchall: a statement left open would hold up the COMMIT
    else:
        rows = conn.execute(_LEASE_IN_SCOPE, {**params, "scope": scope}).fetchall()
    if not rows:
        wake.next_due_ms["worker"] = conn.execute(_NEXT_DUE, {"now": now_ms}).fetchone()[0]
        return []
    rows.sort()  # RETURNING promises no order: oldest first, by (visible_at_ms, id)
    return [_work(*row[1:]) for row in rows]


def _work(
    work_id: int, token: str, instance_id: str, execution_id: int, event_id: int, body: str, delivery_count: int
) -> ActivityWork:
    try:
        activity = activity_from_body(body, execution_id, event_id)
    except (ValueError, TypeError, KeyError) as error:
        what = (
            f"the work of activity {event_id} of execution {execution_id} of instance {instance_id!r} cannot be read"
            f" ({type(error).__name__}: {error})".splitlines()[0]
        )
        placeholder = NewActivity(execution_id, event_id, "?", None, 1, "?", "")
        return ActivityWork(work_id, token, instance_id, placeholder, delivery_count, what)
    return ActivityWork(work_id, token, instance_id, activity, delivery_count)


def renew_activity_txn(
    conn: sqlite3.Connection, now_ms: int, wake: Wake, work_id: int, lock_token: str, lock_timeout_ms: int
) -> bool:
    """Extend the lease if ``lock_token`` still holds the item; False when it is gone or re-leased."""
    cursor = conn.execute(
        "UPDATE worker_queue SET locked_until_ms = ? WHERE id = ? AND lock_token = ?",
        (now_ms + lock_timeout_ms, work_id, lock_token),
    )
    return cursor.rowcount == 1


def complete_activities_txn(
    conn: sqlite3.Connection, now_ms: int, wake: Wake, completions: Sequence[ActivityCompletion]
) -> list[bool]:
    """Complete each (see ``complete_activity_txn``), in a few statements however many there are:
    one deletes every item its completion's token still holds, one more queues their results in
    the order given."""
    if len(completions) == 1:
        return [complete_activity_txn(conn, now_ms, wake, completions[0])]
    held = json.dumps([(c.work_id, c.lock_token) for c in completions])
    removed = set(conn.execute(_REMOVE_HELD, {"held": held}).fetchall())
    done = [(c.work_id, c.lock_token) in removed for c in completions]
    results = [c.message for c, ok in zip(completions, done, strict=True) if ok]
    if results:
        send_all_txn(conn, now_ms, wake, results)
    return done


_REMOVE_HELD = """
DELETE FROM worker_queue
WHERE (id, lock_token) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:held))
RETURNING id, lock_token
"""
"""Delete the items of the JSON list ``:held`` of ``[work_id, lock_token]`` whose token still holds them."""


def complete_activity_txn(conn: sqlite3.Connection, now_ms: int, wake: Wake, completion: ActivityCompletion) -> bool:
    """Remove the item held by the completion's token and queue its result; False (and nothing
    written) when the item is gone or held by another token."""
    if not remove_work_txn(conn, HeldWork(completion.work_id, completion.lock_token)):
        return False
    send_txn(conn, now_ms, wake, completion.message, None)
    return True


def abandon_activity_txn(
    conn: sqlite3.Connection,
    now_ms: int,
    wake: Wake,
    work_id: int,
    lock_token: str,
    delay_ms: int,
    count_delivery: bool,
) -> None:
    """Unlock the item (if ``lock_token`` holds it), visible again after ``delay_ms``."""
    visible = now_ms + max(delay_ms, 0)
    cursor = conn.execute(
        "UPDATE worker_queue SET lock_token = NULL, lock_owner = NULL, locked_until_ms = NULL, visible_at_ms = ?,"
        " delivery_count = CASE WHEN ? THEN delivery_count ELSE MAX(delivery_count - 1, 0) END"
        " WHERE id = ? AND lock_token = ?",
        (visible, count_delivery, work_id, lock_token),
    )
    if cursor.rowcount == 1:
        wake.work_at("worker", visible, now_ms)
