"""Creating instances that many callers start at once, in three statements for all of them.

A thousand ``start_orchestration`` calls made together share a transaction (group commit).
Written one by one, each costs a savepoint and three inserts, every one a trip through the
sqlite3 module that lets go of the GIL and must win it back from the event loop. Written here,
a run of them is one insert of all the instance rows (a taken id is skipped by the insert
itself and reported to its caller alone), one of their execution rows and one of their start
messages, in the callers' order.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence

from ...errors import InstanceAlreadyExistsError
from ...history import OrchestrationStarted
from ...messages import Message
from .orchestrations import create_instance_txn
from .rows import NotAsJson, dump_body, rows_json
from .wakeups import Wake

_INSERT_INSTANCES = """
INSERT INTO instances
  (id, name, version, status, execution_id, parent_instance_id, created_at_ms, updated_at_ms, incarnation)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), 'Pending', 1,
       json_extract(value, '$[3]'), :now, :now, json_extract(value, '$[4]')
FROM json_each(:rows) WHERE true
ON CONFLICT (id) DO NOTHING
RETURNING id
"""
"""Each ``[id, name, version, parent_instance_id, incarnation]`` whose id is free, in list
order (a second start of one id in the list finds it taken); hands back the ids created."""

_INSERT_EXECUTIONS = """
INSERT INTO executions (instance_id, execution_id, status, started_at_ms)
SELECT value, 1, 'Pending', :now FROM json_each(:ids)
"""

_ENQUEUE_STARTS = """
INSERT INTO orchestrator_queue (instance_id, execution_id, kind, body, visible_at_ms)
SELECT json_extract(value, '$[0]'), 1, json_extract(value, '$[1]'), json_extract(value, '$[2]'), :now
FROM json_each(:rows)
"""
"""Queue each ``[instance_id, kind, body]``, visible at once, ids in list order."""

Item = tuple[Wake, Message]
"""One caller's start: its wake and its OrchestrationStarted message."""


def create_instances_txn(conn: sqlite3.Connection, now_ms: int, items: Sequence[Item]) -> list[None | Exception]:
    """``create_instance_txn`` for each item, in order: None for an instance created, the
    exception to raise to its caller otherwise (InstanceAlreadyExistsError; ValueError for a
    message that is no start). Nothing is written for a refused item."""
    if len(items) > 1:
        try:
            return _create_together_txn(conn, now_ms, items)
        except NotAsJson:
            pass
    return [_create_alone_txn(conn, now_ms, wake, start) for wake, start in items]


def _create_alone_txn(conn: sqlite3.Connection, now_ms: int, wake: Wake, start: Message) -> None | Exception:
    try:
        create_instance_txn(conn, now_ms, wake, start)
    except (InstanceAlreadyExistsError, ValueError) as refused:
        return refused
    return None


def _create_together_txn(conn: sqlite3.Connection, now_ms: int, items: Sequence[Item]) -> list[None | Exception]:
    outcomes: list[None | Exception] = [None] * len(items)
    starts: list[tuple[int, Wake, Message]] = []
    rows, messages = [], []
    for position, (wake, start) in enumerate(items):
        body = start.body
        if not isinstance(body, OrchestrationStarted):
            outcomes[position] = ValueError(
                f"an instance starts with an OrchestrationStarted message, not {type(body).__name__}"
            )
            continue
        starts.append((position, wake, start))
        rows.append((start.instance_id, body.name, body.version, body.parent_instance_id, os.urandom(16).hex()))
        messages.append((start.instance_id, *dump_body(body)))
    if not starts:
        return outcomes
    rows_text, messages_text = rows_json(rows), rows_json(messages)  # NotAsJson: nothing written yet
    created = {instance_id for (instance_id,) in conn.execute(_INSERT_INSTANCES, {"rows": rows_text, "now": now_ms})}
    kept = []
    for index, (position, wake, start) in enumerate(starts):
        if start.instance_id in created:
            created.discard(start.instance_id)  # made by its first start in the list; a second is refused
            kept.append(index)
            wake.work_now("orchestrator")
        else:
            outcomes[position] = InstanceAlreadyExistsError(start.instance_id)
    if not kept:
        return outcomes
    if len(kept) < len(starts):
        messages_text = rows_json([messages[index] for index in kept])
    ids_text = rows_json([starts[index][2].instance_id for index in kept])
    conn.execute(_INSERT_EXECUTIONS, {"ids": ids_text, "now": now_ms})
    conn.execute(_ENQUEUE_STARTS, {"rows": messages_text, "now": now_ms})
    return outcomes
