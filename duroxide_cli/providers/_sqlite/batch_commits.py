"""Committing many turns in a few statements, whatever their number.

``commit_turns_txn`` writes a batch turn by turn: a savepoint and ten or so statements per turn.
Under load a batch holds about thirty turns, so that is some three hundred statements in one
transaction, each a trip through the sqlite3 module that lets go of the GIL and must win it back
from the event loop. Here the turns of a batch that keep to their own instance (no starts, no
messages: ``is_plain``) go together: every check is made first, for the whole batch, with reads
only, each answering in one row, and the turns that pass are then written by a multi-row
statement per kind of row (``rows.values_chunks``; lists of ids go through ``json_each``). A
refused turn was never written, so no savepoint per turn is needed; the batch as a whole sits in
one, and anything the checks did not foresee (a history row that exists already, an id holding a
NUL character) undoes the batch and commits it turn by turn instead, the old way.

The outcome is the one turn-by-turn commits give: the turns of a plain batch touch disjoint
rows (each its own instance's, and no two turns of one instance or one work item), so checking
them all before writing any sees what each would have seen in turn.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence

from ..base import TERMINAL_STATUSES, ActivityWork, CommitResult, NewActivity, TurnCommit
from ..stored import activity_body
from .rows import NotAsJson, dump_failure, dump_json, rows_json, values_chunks
from .turn_writes import append_turns_history_txn
from .wakeups import Wake

_LOCK_LOST = CommitResult("lock_lost")

_HELD_LOCKS = """
SELECT json_group_object(i.id, i.status)
FROM json_each(:held) AS j CROSS JOIN instances AS i ON i.id = json_extract(j.value, '$[0]')
WHERE i.lock_token = json_extract(j.value, '$[1]') AND i.locked_until_ms > :now
"""
"""Of each ``[id, lock_token]`` of ``:held`` whose token holds the instance's unexpired lock, the
status, as one JSON object by id (one row: the sqlite3 module lets go of the GIL per row)."""

_FREE_AS_ASSUMED = """
SELECT json_group_object(i.id, i.status)
FROM json_each(:want) AS w CROSS JOIN instances AS i ON i.id = json_extract(w.value, '$[0]')
WHERE i.incarnation = json_extract(w.value, '$[1]') AND i.execution_id = json_extract(w.value, '$[2]')
  AND i.status IN ('Pending', 'Running')
  AND COALESCE(i.locked_until_ms, 0) <= :now AND COALESCE(i.backoff_until_ms, 0) <= :now
  AND NOT EXISTS (SELECT 1 FROM history AS h
                  WHERE h.instance_id = i.id AND h.execution_id = i.execution_id
                    AND h.event_id > json_extract(w.value, '$[3]'))
  AND NOT EXISTS (SELECT 1 FROM orchestrator_queue AS q WHERE q.instance_id = i.id AND q.visible_at_ms <= :now)
"""
"""Of each ``[id, incarnation, execution, history_len]`` of ``:want``, the status, if a turn run
without the lock may take it (``commits._FREE_AS_ASSUMED``, for many instances), as one JSON
object by id."""

_HELD_WORK = """
SELECT json_group_array(w.id) FROM json_each(:held) AS j CROSS JOIN worker_queue AS w ON w.id = json_extract(j.value, '$[0]')
WHERE w.lock_token = json_extract(j.value, '$[1]')
"""
"""Those of the work items ``[id, lock_token]`` of ``:held`` that their token still holds."""

_REMOVE_WORK = "DELETE FROM worker_queue WHERE id IN (SELECT value FROM json_each(:ids))"

_UPSERT_EXECUTIONS = """
INSERT INTO executions (instance_id, execution_id, status, started_at_ms, ended_at_ms) VALUES {values}
ON CONFLICT (instance_id, execution_id) DO UPDATE SET
  status = excluded.status,
  ended_at_ms = CASE WHEN excluded.ended_at_ms IS NULL THEN NULL
                     ELSE COALESCE(executions.ended_at_ms, excluded.ended_at_ms) END
"""
"""``commits._UPSERT_EXECUTION`` for each row, in order (a continue-as-new's old execution before
its new one)."""

_UPDATE_INSTANCES = """
UPDATE instances SET
  status = v.column2, version = v.column3, output = v.column4, error = v.column5, failure = v.column6,
  custom_status = v.column7, updated_at_ms = v.column8, execution_id = COALESCE(v.column9, instances.execution_id),
  held = NULL, lock_token = NULL, lock_owner = NULL, locked_until_ms = NULL, backoff_until_ms = NULL
FROM (VALUES {values}) AS v
WHERE instances.id = v.column1
"""
"""``commits._update_instance_txn`` for each row ``(id, status, version, output, error, failure,
custom_status, updated_at_ms, next_execution_id)``."""

_ENQUEUE_ACTIVITIES = """
INSERT INTO worker_queue
  (instance_id, execution_id, event_id, body, visible_at_ms, lock_token, lock_owner, locked_until_ms, delivery_count)
VALUES {values}
RETURNING id, lock_token
"""
"""Queue each row, leased when it has a token; hands back the ids."""

_CANCEL_ACTIVITIES = """
DELETE FROM worker_queue WHERE (instance_id, event_id) IN
  (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:rows))
"""

_END_WORK = """
DELETE FROM worker_queue WHERE id IN
  (SELECT q.id FROM json_each(:rows) AS j CROSS JOIN worker_queue AS q
   ON q.instance_id = json_extract(j.value, '$[0]') AND q.execution_id <= json_extract(j.value, '$[1]'))
"""

_END_MESSAGES = """
DELETE FROM orchestrator_queue WHERE id IN
  (SELECT q.id FROM json_each(:rows) AS j CROSS JOIN orchestrator_queue AS q
   ON q.instance_id = json_extract(j.value, '$[0]') AND q.execution_id <= json_extract(j.value, '$[1]'))
"""
"""What an ended execution leaves queued (``commits._remove_unwanted_work_txn``), for each
``[instance_id, execution_id]``."""

_CONSUME = """
DELETE FROM orchestrator_queue WHERE (id, instance_id) IN
  (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:rows))
"""

_UNTAG = """
UPDATE orchestrator_queue SET lock_token = NULL FROM json_each(:rows) AS j
WHERE orchestrator_queue.instance_id = json_extract(j.value, '$[0]')
  AND orchestrator_queue.lock_token = json_extract(j.value, '$[1]')
"""

_EARLIEST = """
SELECT MIN(visible_at_ms) FROM orchestrator_queue WHERE instance_id IN (SELECT value FROM json_each(:ids))
"""
"""When the earliest message left for the committed instances is visible (what to wake a
dispatcher for)."""


class BatchRefused(Exception):
    """The batch met what its checks did not foresee; commit its turns one by one instead."""


def is_plain(turn: TurnCommit) -> bool:
    """Whether the turn writes only its own instance's rows (no starts, no messages)."""
    return not turn.starts and not turn.messages


def can_batch(turns: Sequence[TurnCommit]) -> bool:
    """Whether ``turns`` may be committed together: plain, of distinct instances, and no work
    item completed twice."""
    if not all(is_plain(turn) for turn in turns):
        return False
    if len({turn.instance_id for turn in turns}) != len(turns):
        return False
    work = [held.work_id for turn in turns for held in turn.completed_work]
    return len(set(work)) == len(work)


def commit_plain_turns_txn(
    conn: sqlite3.Connection, now_ms: int, wake: Wake, turns: Sequence[TurnCommit]
) -> list[CommitResult]:
    """Commit the plain turns ``turns`` (``can_batch``) in a few statements, as ``commit_turn_txn``
    would one by one; raises BatchRefused, with nothing written, for what it cannot tell."""
    conn.execute("SAVEPOINT turns")
    try:
        results = _commit_txn(conn, now_ms, wake, turns)
    except (sqlite3.IntegrityError, NotAsJson) as error:
        conn.execute("ROLLBACK TO turns")
        conn.execute("RELEASE turns")
        raise BatchRefused from error
    except BaseException:
        conn.execute("ROLLBACK TO turns")
        conn.execute("RELEASE turns")
        raise
    conn.execute("RELEASE turns")
    return results


def _commit_txn(conn: sqlite3.Connection, now_ms: int, wake: Wake, turns: Sequence[TurnCommit]) -> list[CommitResult]:
    was = _statuses_if_free(conn, now_ms, turns)
    accepted = [turn for turn in turns if turn.instance_id in was]
    accepted = _holding_their_work(conn, accepted)
    if not accepted:
        return [_LOCK_LOST] * len(turns)
    done = [held.work_id for turn in accepted for held in turn.completed_work]
    if done:
        conn.execute(_REMOVE_WORK, {"ids": rows_json(done)})
    append_turns_history_txn(conn, accepted)
    _record_executions_txn(conn, now_ms, accepted, was)
    _update_instances_txn(conn, now_ms, accepted)
    leased = _enqueue_activities_txn(conn, now_ms, wake, accepted)
    _remove_unwanted_work_txn(conn, accepted)
    _release_messages_txn(conn, now_ms, wake, accepted)
    return _results(turns, accepted, leased)


def _results(
    turns: Sequence[TurnCommit], accepted: Sequence[TurnCommit], leased: dict[str, tuple[ActivityWork, ...]]
) -> list[CommitResult]:
    committed = {turn.instance_id for turn in accepted}
    return [
        CommitResult("committed", leased.get(turn.instance_id, ())) if turn.instance_id in committed else _LOCK_LOST
        for turn in turns
    ]


def _statuses_if_free(conn: sqlite3.Connection, now_ms: int, turns: Sequence[TurnCommit]) -> dict[str, str]:
    """The status before the turn of each instance whose turn may commit: its lock held by the
    turn's token and unexpired, or (``take_lock``) free and as the turn assumed."""
    statuses: dict[str, str] = {}
    holding = [(turn.instance_id, turn.lock_token) for turn in turns if turn.take_lock is None]
    if holding:
        (found,) = conn.execute(_HELD_LOCKS, {"held": rows_json(holding), "now": now_ms}).fetchone()
        statuses.update(json.loads(found))
    want = [
        (turn.instance_id, turn.take_lock.incarnation, turn.execution_id, turn.take_lock.history_len)
        for turn in turns if turn.take_lock is not None
    ]
    if want:
        (found,) = conn.execute(_FREE_AS_ASSUMED, {"want": rows_json(want), "now": now_ms}).fetchone()
        statuses.update(json.loads(found))
    return statuses


def _holding_their_work(conn: sqlite3.Connection, turns: list[TurnCommit]) -> list[TurnCommit]:
    """Those of ``turns`` whose completed work items are all still held by their tokens."""
    held = [(held.work_id, held.lock_token) for turn in turns for held in turn.completed_work]
    if not held:
        return turns
    (found,) = conn.execute(_HELD_WORK, {"held": rows_json(held)}).fetchone()
    still = set(json.loads(found))
    return [turn for turn in turns if all(w.work_id in still for w in turn.completed_work)]


def _record_executions_txn(conn: sqlite3.Connection, now_ms: int, turns: Sequence[TurnCommit], was: dict[str, str]) -> None:
    """The execution rows whose status the turns change (``commits._record_executions_txn``)."""
    rows: list[tuple[str, int, str, int, int | None]] = []
    for turn in turns:
        status = turn.instance.status
        if turn.next_execution_id is not None:
            rows.append((turn.instance_id, turn.execution_id, "Completed", now_ms, now_ms))
            rows.append((turn.instance_id, turn.next_execution_id, status, now_ms, None))
        elif not (was[turn.instance_id] == status == "Running"):
            ended = now_ms if status in TERMINAL_STATUSES else None
            rows.append((turn.instance_id, turn.execution_id, status, now_ms, ended))
    for values, params in values_chunks(rows):
        conn.execute(_UPSERT_EXECUTIONS.format(values=values), params)


def _update_instances_txn(conn: sqlite3.Connection, now_ms: int, turns: Sequence[TurnCommit]) -> None:
    rows = []
    for turn in turns:
        update = turn.instance
        rows.append((
            turn.instance_id, update.status, update.version, dump_json(update.output), update.error,
            dump_failure(update.failure), dump_json(update.custom_status), now_ms, turn.next_execution_id,
        ))
    for values, params in values_chunks(rows):
        conn.execute(_UPDATE_INSTANCES.format(values=values), params)


def _enqueue_activities_txn(
    conn: sqlite3.Connection, now_ms: int, wake: Wake, turns: Sequence[TurnCommit]
) -> dict[str, tuple[ActivityWork, ...]]:
    """Queue every turn's activities, leasing each turn's first ``lease_activities.limit`` unless
    it ends its execution (``commits._enqueue_activities_txn``); the leased work per instance."""
    rows: list[tuple] = []
    leases: dict[str, list[tuple[str, NewActivity]]] = {}
    token = uuid.uuid4().hex
    queued = False
    for turn in turns:
        lease = turn.lease_activities
        ends = turn.next_execution_id is not None or turn.instance.status in TERMINAL_STATUSES
        limit = 0 if lease is None or ends else lease.limit
        for position, activity in enumerate(turn.activities):
            body = activity_body(activity)
            if lease is not None and position < limit:
                work_token = f"{token}.{len(rows)}"
                rows.append((
                    turn.instance_id, activity.execution_id, activity.event_id, body, now_ms,
                    work_token, lease.owner, now_ms + lease.lock_timeout_ms, 1,
                ))
                leases.setdefault(turn.instance_id, []).append((work_token, activity))
            else:
                rows.append((turn.instance_id, activity.execution_id, activity.event_id, body, now_ms, None, None, None, 0))
                queued = True
    if not rows:
        return {}
    ids = {}
    for values, params in values_chunks(rows):
        for work_id, work_token in conn.execute(_ENQUEUE_ACTIVITIES.format(values=values), params).fetchall():
            ids[work_token] = work_id
    if queued:
        wake.work_now("worker")
    return {
        instance_id: tuple(ActivityWork(ids[work_token], work_token, instance_id, activity, 1) for work_token, activity in leased)
        for instance_id, leased in leases.items()
    }


def _remove_unwanted_work_txn(conn: sqlite3.Connection, turns: Sequence[TurnCommit]) -> None:
    """Cancelled activities, and what an ended execution leaves queued (``commits._remove_unwanted_work_txn``)."""
    cancelled = [(turn.instance_id, event_id) for turn in turns for event_id in turn.cancel_activities]
    if cancelled:
        conn.execute(_CANCEL_ACTIVITIES, {"rows": rows_json(cancelled)})
    ended = [
        (turn.instance_id, turn.execution_id) for turn in turns
        if turn.next_execution_id is not None or turn.instance.status in TERMINAL_STATUSES
    ]
    if ended:
        rows = rows_json(ended)
        conn.execute(_END_WORK, {"rows": rows})
        conn.execute(_END_MESSAGES, {"rows": rows})


def _release_messages_txn(conn: sqlite3.Connection, now_ms: int, wake: Wake, turns: Sequence[TurnCommit]) -> None:
    """Delete the consumed messages, untag the rest of those each turn's fetch tagged, and wake a
    dispatcher for what is left (``orchestrator_queue.release_messages_txn``)."""
    consumed = [(message_id, turn.instance_id) for turn in turns for message_id in turn.consumed_message_ids]
    if consumed:
        conn.execute(_CONSUME, {"rows": rows_json(consumed)})
    tagged = [(turn.instance_id, turn.lock_token) for turn in turns if turn.take_lock is None]
    if tagged:
        conn.execute(_UNTAG, {"rows": rows_json(tagged)})
    ids = rows_json([turn.instance_id for turn in turns])
    (earliest,) = conn.execute(_EARLIEST, {"ids": ids}).fetchone()
    if earliest is not None:
        wake.work_at("orchestrator", earliest, now_ms)
