"""Creating instances that many callers start at once, in a few statements for all of them.

A thousand ``start_orchestration`` calls made together share a transaction (group commit).
Written one by one, each costs a savepoint and three inserts, every one a trip through the
sqlite3 module that lets go of the GIL and must win it back from the event loop. Written here,
a run of them is a multi-row insert of the instance rows (a taken id is skipped by the insert
itself and reported to its caller alone), one of their execution rows and one of their start
messages, in the callers' order (up to 64 rows a statement: ``rows.values_chunks``).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence

from ...errors import InstanceAlreadyExistsError
from ...history import OrchestrationStarted
from ...messages import Message
from .orchestrations import create_instance_txn
from .rows import dump_body, values_chunks
from .wakeups import Wake

_INSERT_INSTANCES = """
INSERT INTO instances
  (id, name, version, parent_instance_id, incarnation, created_at_ms, updated_at_ms, status, execution_id)
VALUES {values}
ON CONFLICT (id) DO NOTHING
RETURNING id
"""
"""Each row whose id is free, in order (a second start of one id finds it taken); hands back the
ids created."""

_INSERT_EXECUTIONS = "INSERT INTO executions (instance_id, execution_id, status, started_at_ms) VALUES "

_ENQUEUE_STARTS = "INSERT INTO orchestrator_queue (instance_id, execution_id, kind, body, visible_at_ms) VALUES "
"""Start messages, their ids in row order."""

Item = tuple[Wake, Message]
"""One caller's start: its wake and its OrchestrationStarted message."""


def create_instances_txn(conn: sqlite3.Connection, now_ms: int, items: Sequence[Item]) -> list[None | Exception]:
    """``create_instance_txn`` for each item, in order: None for an instance created, the
    exception to raise to its caller otherwise (InstanceAlreadyExistsError; ValueError for a
    message that is no start). Nothing is written for a refused item."""
    if len(items) > 1:
        return _create_together_txn(conn, now_ms, items)
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
        rows.append((
            start.instance_id, body.name, body.version, body.parent_instance_id, os.urandom(16).hex(),
            now_ms, now_ms, "Pending", 1,
        ))
        messages.append((start.instance_id, 1, *dump_body(body), now_ms))
    if not starts:
        return outcomes
    created: set[str] = set()
    for values, params in values_chunks(rows):
        created.update(instance_id for (instance_id,) in conn.execute(_INSERT_INSTANCES.format(values=values), params))
    kept = []
    for index, (position, wake, start) in enumerate(starts):
        if start.instance_id in created:
            created.discard(start.instance_id)  # made by its first start in the list; a second is refused
            kept.append(index)
            wake.work_now("orchestrator")
        else:
            outcomes[position] = InstanceAlreadyExistsError(start.instance_id)
    executions = [(starts[index][2].instance_id, 1, "Pending", now_ms) for index in kept]
    for values, params in values_chunks(executions):
        conn.execute(_INSERT_EXECUTIONS + values, params)
    for values, params in values_chunks([messages[index] for index in kept]):
        conn.execute(_ENQUEUE_STARTS + values, params)
    return outcomes
