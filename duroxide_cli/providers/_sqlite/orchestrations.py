"""Instances: create, enqueue, fetch (lock), and release without a turn (abandon, drop messages);
their turns are committed in ``commits``."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator, Mapping, Sequence

from ...errors import InstanceAlreadyExistsError, InstanceNotFoundError
from ...history import HistoryEvent, OrchestrationStarted
from ...messages import Message, QueuedMessage
from ..base import InstanceRecord, KnownHistory, OrchestrationWork
from .orchestrator_queue import enqueue_txn, holds_lock_txn, instance_exists_txn, release_messages_txn
from .rows import (
    HISTORY_COLUMNS,
    INSTANCE_COLUMNS,
    MESSAGE_COLUMNS,
    UnreadableRow,
    event_from_row,
    first_distinct,
    instance_from_row_leniently,
    message_from_row,
)
from .wakeups import Wake

_FETCHABLE = """
SELECT q.instance_id FROM orchestrator_queue AS q
WHERE q.visible_at_ms <= :now
  AND (SELECT COALESCE(i.locked_until_ms, 0) <= :now AND COALESCE(i.backoff_until_ms, 0) <= :now
       FROM instances AS i WHERE i.id = q.instance_id)
ORDER BY q.visible_at_ms, q.id
"""
"""Visible messages of unlocked instances, the longest waiting first. Walked only until enough
instances are found: a correlated lookup (not a join, for which SQLite would build a bloom
filter over every instance) keeps a fetch from reading the whole queue."""

_FETCHABLE_IN_SCOPE = """
SELECT q.instance_id FROM (SELECT DISTINCT value FROM json_each(:scope)) AS s CROSS JOIN orchestrator_queue AS q ON q.instance_id = s.value
WHERE q.visible_at_ms <= :now
  AND (SELECT COALESCE(i.locked_until_ms, 0) <= :now AND COALESCE(i.backoff_until_ms, 0) <= :now
       FROM instances AS i WHERE i.id = q.instance_id)
ORDER BY q.visible_at_ms, q.id
"""
"""The same, for the instances named in the JSON list ``:scope`` only: driven by the scope (the
queue's instance index), so a scoped fetch reads the scope's messages, not everyone's."""

_NEXT_DUE = """
SELECT MIN(due) FROM (
  SELECT MIN(visible_at_ms) AS due FROM orchestrator_queue WHERE visible_at_ms > :now
  UNION ALL SELECT MIN(locked_until_ms) FROM instances WHERE locked_until_ms > :now
  UNION ALL SELECT MIN(backoff_until_ms) FROM instances WHERE backoff_until_ms > :now
)
"""
"""No later than the moment a message, lock or back-off next comes due (a cheap lower bound:
waking early costs one query)."""

# -- creating instances and enqueuing messages ------------------------------------------------


def create_instance_txn(conn: sqlite3.Connection, now_ms: int, wake: Wake, start: Message) -> None:
    """Insert a Pending instance and queue its start; InstanceAlreadyExistsError on a taken id."""
    if not insert_instance_txn(conn, now_ms, wake, start):
        raise InstanceAlreadyExistsError(start.instance_id)


def insert_instance_txn(conn: sqlite3.Connection, now_ms: int, wake: Wake, start: Message) -> bool:
    """Insert a Pending instance and queue its start; False (nothing written) when the id is taken."""
    body = start.body
    if not isinstance(body, OrchestrationStarted):
        raise ValueError(f"an instance starts with an OrchestrationStarted message, not {type(body).__name__}")
    cursor = conn.execute(  # ON CONFLICT: a taken id is found by the insert itself, not by a query before it
        "INSERT INTO instances"
        " (id, name, version, status, execution_id, parent_instance_id, created_at_ms, updated_at_ms, incarnation)"
        " VALUES (?, ?, ?, 'Pending', 1, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        (start.instance_id, body.name, body.version, body.parent_instance_id, now_ms, now_ms, uuid.uuid4().hex),
    )
    if cursor.rowcount != 1:
        return False
    conn.execute(
        "INSERT INTO executions (instance_id, execution_id, status, started_at_ms) VALUES (?, 1, 'Pending', ?)",
        (start.instance_id, now_ms),
    )
    enqueue_txn(conn, now_ms, wake, start, None)
    return True


def enqueue_message_txn(
    conn: sqlite3.Connection, now_ms: int, wake: Wake, message: Message, visible_at_ms: int | None
) -> None:
    """Queue a message for an existing instance; InstanceNotFoundError otherwise."""
    if not instance_exists_txn(conn, message.instance_id):
        raise InstanceNotFoundError(message.instance_id)
    enqueue_txn(conn, now_ms, wake, message, visible_at_ms)


# -- fetching ---------------------------------------------------------------------------------


def fetch_orchestration_txn(
    conn: sqlite3.Connection,
    now_ms: int,
    wake: Wake,
    limit: int,
    lock_timeout_ms: int,
    owner: str,
    known: Mapping[str, KnownHistory],
    scope: str | None,
) -> list[OrchestrationWork]:
    """Lock up to ``limit`` fetchable instances, the one whose message has waited longest first;
    only those named in ``scope`` (a JSON list of ids) unless it is None.

    When nothing is found, records in ``wake`` when something next comes due (a delayed
    message, an expiring lock or back-off).
    """
    if scope is None:
        rows = conn.execute(_FETCHABLE, {"now": now_ms})
    else:
        rows = conn.execute(_FETCHABLE_IN_SCOPE, {"now": now_ms, "scope": scope})
    ids = first_distinct(rows, limit)
    if not ids:
        wake.next_due_ms["orchestrator"] = conn.execute(_NEXT_DUE, {"now": now_ms}).fetchone()[0]
        return []
    return lock_instances_txn(conn, now_ms, ids, lock_timeout_ms, owner, known)


def lock_instance_txn(
    conn: sqlite3.Connection,
    now_ms: int,
    wake: Wake,
    instance_id: str,
    lock_timeout_ms: int,
    owner: str,
    known: Mapping[str, KnownHistory],
) -> OrchestrationWork | None:
    """Lock ``instance_id`` as a fetch would, visible messages or not; None when it is missing,
    locked or backed off. Plain statements on the instance's keys: for one instance they cost
    less than ``lock_instances_txn``'s lists."""
    token = uuid.uuid4().hex
    instance_row = conn.execute(
        f"UPDATE instances SET lock_token = ?, lock_owner = ?, locked_until_ms = ? WHERE id = ?"
        " AND COALESCE(locked_until_ms, 0) <= ? AND COALESCE(backoff_until_ms, 0) <= ?"
        f" RETURNING {INSTANCE_COLUMNS}",
        (token, owner, now_ms + lock_timeout_ms, instance_id, now_ms, now_ms),
    ).fetchall()  # fetchall: a statement left unfinished would hold up the COMMIT
    if not instance_row:
        return None
    message_rows = conn.execute(
        "UPDATE orchestrator_queue SET delivery_count = delivery_count + 1, lock_token = ?"
        f" WHERE instance_id = ? AND visible_at_ms <= ? RETURNING {MESSAGE_COLUMNS}",
        (token, instance_id, now_ms),
    ).fetchall()
    message_rows.sort()  # RETURNING promises no order; messages are delivered by id
    instance, bad_row = instance_from_row_leniently(instance_row[0])
    after = _known_events(instance, known.get(instance_id))
    event_rows = conn.execute(
        f"SELECT {HISTORY_COLUMNS} FROM history WHERE instance_id = ? AND execution_id = ? AND event_id > ?",
        (instance_id, instance.execution_id, after),
    ).fetchall()
    return _work(instance_id, token, instance, bad_row, after, message_rows, event_rows)


def _known_events(instance: InstanceRecord, known: KnownHistory | None) -> int:
    """How many of the instance's events the caller holds (``known``, if it still matches)."""
    if known is not None:
        incarnation, execution_id, event_count = known
        if (incarnation, execution_id) == (instance.incarnation, instance.execution_id):
            return event_count
    return 0


_LOCK = """
UPDATE instances SET lock_token = :token || '.' || j.key, lock_owner = :owner, locked_until_ms = :until
FROM json_each(:want) AS j
WHERE instances.id = json_extract(j.value, '$[0]')
  AND COALESCE(instances.locked_until_ms, 0) <= :now AND COALESCE(instances.backoff_until_ms, 0) <= :now
"""
"""Lock the free instances of the JSON list ``:want`` (``[id, incarnation, execution_id, count]``
each), each with a token of its own: the fetch's fresh ``:token`` and the instance's place in the list."""

_TAKE_MESSAGES = """
UPDATE orchestrator_queue SET delivery_count = delivery_count + 1, lock_token = i.lock_token
FROM json_each(:want) AS j CROSS JOIN instances AS i ON i.id = json_extract(j.value, '$[0]')
WHERE orchestrator_queue.instance_id = i.id AND i.lock_token = :token || '.' || j.key
  AND orchestrator_queue.visible_at_ms <= :now
"""
"""Count and tag the visible messages of each instance ``_LOCK`` just locked with its token."""

_LOCKED_WORK = f"""
SELECT json_group_array(json_array(
  i.lock_token, {", ".join("i." + column.strip() for column in INSTANCE_COLUMNS.split(","))},
  (SELECT json_group_array(json_array({", ".join("q." + column.strip() for column in MESSAGE_COLUMNS.split(","))}))
   FROM orchestrator_queue AS q WHERE q.instance_id = i.id AND q.lock_token = i.lock_token),
  (SELECT json_group_array(json_array({", ".join("h." + column.strip() for column in HISTORY_COLUMNS.split(","))}))
   FROM history AS h WHERE h.instance_id = i.id AND h.execution_id = i.execution_id
     AND h.event_id > CASE WHEN i.incarnation = json_extract(j.value, '$[1]')
                            AND i.execution_id = json_extract(j.value, '$[2]')
                           THEN json_extract(j.value, '$[3]') ELSE 0 END)))
FROM json_each(:want) AS j CROSS JOIN instances AS i ON i.id = json_extract(j.value, '$[0]')
WHERE i.lock_token = :token || '.' || j.key
"""
"""Each instance ``_LOCK`` just locked, with the messages ``_TAKE_MESSAGES`` tagged for it and the
events past those the caller knows (``_known_events``), as one JSON array: one row, where
``RETURNING`` and a history query hand back a row per instance, message and event (the sqlite3
module lets go of the GIL at each, and must win it back from the event loop). Text comes back
as it is stored, a NUL character included (``json_array`` escapes it)."""


def lock_instances_txn(
    conn: sqlite3.Connection,
    now_ms: int,
    ids: Sequence[str],
    lock_timeout_ms: int,
    owner: str,
    known: Mapping[str, KnownHistory],
) -> list[OrchestrationWork]:
    """Lock those of ``ids`` that are free (not locked, not backed off), in the order given, with
    their visible messages and the history the caller does not know (``known``). Three statements
    however many instances: a fetch pays per transaction, not per instance."""
    token = uuid.uuid4().hex
    want = json.dumps([[instance_id, *known.get(instance_id, (None, None, 0))] for instance_id in ids])
    locked = conn.execute(
        _LOCK, {"token": token, "owner": owner, "until": now_ms + lock_timeout_ms, "now": now_ms, "want": want}
    ).rowcount
    if locked <= 0:
        return []
    conn.execute(_TAKE_MESSAGES, {"want": want, "token": token, "now": now_ms})
    (found,) = conn.execute(_LOCKED_WORK, {"want": want, "token": token}).fetchone()
    by_id = {row[1]: row for row in json.loads(found)}
    work = []
    for instance_id in ids:
        row = by_id.get(instance_id)
        if row is None:
            continue
        instance, bad_row = instance_from_row_leniently(row[1:15])
        after = _known_events(instance, known.get(instance_id))
        messages = row[15]
        messages.sort()  # messages are delivered by id
        work.append(_work(instance_id, row[0], instance, bad_row, after, messages, row[16]))
    return work


def _work(
    instance_id: str,
    token: str,
    instance: InstanceRecord,
    bad_row: str | None,
    after: int,
    message_rows: Sequence[tuple],
    event_rows: list[tuple],
) -> OrchestrationWork:
    """One locked instance's work from its rows; what cannot be decoded is named in ``unreadable``."""
    queued: list[QueuedMessage] = []
    unreadable: list[str] = []
    unreadable_ids: list[int] = []
    for row in message_rows:
        try:
            queued.append(message_from_row(row))
        except UnreadableRow as error:
            unreadable.append(str(error))
            unreadable_ids.append(row[0])
    if bad_row is not None:
        unreadable.insert(0, bad_row)
    event_rows.sort()  # by event id
    history: list[HistoryEvent] = []
    try:
        for row in event_rows:
            history.append(event_from_row(row, instance_id, instance.execution_id))
    except UnreadableRow as error:
        unreadable.insert(0, str(error))
    return OrchestrationWork(
        instance, token, history, after, queued, "; ".join(unreadable) or None, tuple(unreadable_ids)
    )


def read_events_txn(
    conn: sqlite3.Connection, instance_id: str, execution_id: int, after: int = 0
) -> list[HistoryEvent]:
    """The events of one execution with ids above ``after``, in order; UnreadableRow for an event
    that cannot be decoded."""
    return list(_events_txn(conn, instance_id, execution_id, after))


def _events_txn(conn: sqlite3.Connection, instance_id: str, execution_id: int, after: int) -> Iterator[HistoryEvent]:
    rows = conn.execute(
        f"SELECT {HISTORY_COLUMNS} FROM history WHERE instance_id = ? AND execution_id = ? AND event_id > ?"
        " ORDER BY event_id",
        (instance_id, execution_id, after),
    )
    try:
        for row in rows:
            yield event_from_row(row, instance_id, execution_id)
    finally:
        rows.close()


# -- releasing without a turn -----------------------------------------------------------------


def abandon_orchestration_txn(
    conn: sqlite3.Connection,
    now_ms: int,
    wake: Wake,
    instance_id: str,
    lock_token: str,
    delay_ms: int,
    reason: str | None,
    count_delivery: bool,
) -> None:
    """Unlock the instance if ``lock_token`` holds it, keeping it back ``delay_ms``; a ``reason``
    becomes its error (its status stays); without ``count_delivery`` the fetch is uncounted."""
    row = conn.execute("SELECT lock_token FROM instances WHERE id = ?", (instance_id,)).fetchone()
    if row is None or row[0] != lock_token:
        return
    backoff = now_ms + delay_ms if delay_ms > 0 else None
    conn.execute(
        "UPDATE instances SET lock_token = NULL, lock_owner = NULL, locked_until_ms = NULL, backoff_until_ms = ?,"
        " error = COALESCE(?, error), updated_at_ms = CASE WHEN ? IS NULL THEN updated_at_ms ELSE ? END"
        " WHERE id = ?",
        (backoff, reason, reason, now_ms, instance_id),
    )
    if not count_delivery:
        conn.execute(
            "UPDATE orchestrator_queue SET delivery_count = MAX(delivery_count - 1, 0) WHERE instance_id = ? AND lock_token = ?",
            (instance_id, lock_token),
        )
    conn.execute(
        "UPDATE orchestrator_queue SET lock_token = NULL WHERE instance_id = ? AND lock_token = ?",
        (instance_id, lock_token),
    )
    (earliest,) = conn.execute(
        "SELECT MIN(visible_at_ms) FROM orchestrator_queue WHERE instance_id = ?", (instance_id,)
    ).fetchone()
    if earliest is not None:
        wake.work_at("orchestrator", max(earliest, backoff or 0), now_ms)


def drop_messages_txn(
    conn: sqlite3.Connection, now_ms: int, wake: Wake, instance_id: str, lock_token: str, message_ids: Sequence[int]
) -> bool:
    """Delete ``message_ids`` and unlock the instance if ``lock_token`` holds its lease, leaving the
    rest of its row (status, output, updated_at_ms) as it is; False (nothing written) otherwise."""
    if not holds_lock_txn(conn, now_ms, instance_id, lock_token):
        return False
    conn.execute(
        "UPDATE instances SET lock_token = NULL, lock_owner = NULL, locked_until_ms = NULL WHERE id = ?", (instance_id,)
    )
    release_messages_txn(conn, now_ms, wake, instance_id, lock_token, message_ids)
    return True


def set_instance_held_txn(
    conn: sqlite3.Connection, now_ms: int, wake: Wake, instance_id: str, reason: str | None
) -> None:
    """Set (or with None clear) why an unfinished instance is held back; finished ones are left alone."""
    conn.execute(
        "UPDATE instances SET held = ?, updated_at_ms = ? WHERE id = ? AND status IN ('Pending', 'Running')",
        (reason, now_ms, instance_id),
    )
