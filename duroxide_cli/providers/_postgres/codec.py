"""Between the protocol's dataclasses and the PostgreSQL store's rows and JSON documents.

Batch calls send one JSON document to a server-side function (a turn, a list of completions)
and fetches get one back; payloads and event bodies travel inside it as JSON text, the same
text the columns hold, so a value comes back exactly as it was written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ... import payloads
from ...history import EventBody, FailureDetails, HistoryEvent, OrchestrationStarted, body_from_json, body_to_json
from ...messages import Message, QueuedMessage
from ..base import (
    ActivityCompletion,
    ActivityWork,
    InstanceRecord,
    InstanceStart,
    KnownHistory,
    OrchestrationWork,
    RuntimeInfo,
    TurnCommit,
)
from ..stored import activity_body, activity_from_body

INSTANCE_COLUMNS = (
    "id, name, version, status, execution_id, output, error, failure, custom_status,"
    " parent_instance_id, created_at_ms, updated_at_ms, incarnation, held"
)
"""The columns ``instance_from_row`` reads."""


# -- values -----------------------------------------------------------------------------------


def dump_json(value: Any) -> str | None:
    """JSON text of a payload; None (SQL NULL) for a JSON null."""
    return None if value is None else payloads.dumps(value)


def load_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def dump_body(body: EventBody) -> tuple[str, str]:
    """(kind, JSON text of the kind's fields) of an event or message body."""
    return type(body).__name__, payloads.dumps(body_to_json(body))


def load_body(kind: str, text: str) -> EventBody:
    return body_from_json({**json.loads(text), "kind": kind})


# -- what the functions take ------------------------------------------------------------------


def start_fields(start: Message) -> list[Any]:
    """[id, name, version, parent, body] of an instance's start, as ``insert_instance`` takes them."""
    body = start.body
    if not isinstance(body, OrchestrationStarted):
        raise ValueError(f"an instance starts with an OrchestrationStarted message, not {type(body).__name__}")
    return [start.instance_id, body.name, body.version, body.parent_instance_id, dump_body(body)[1]]


def message_fields(message: Message) -> list[Any]:
    """[instance, execution, kind, body] of a message, as ``send`` takes them."""
    kind, body = dump_body(message.body)
    return [message.instance_id, message.execution_id, kind, body]


def known_json(known: Mapping[str, KnownHistory]) -> str:
    return json.dumps({instance_id: list(held) for instance_id, held in known.items()})


def turns_json(turns: Sequence[TurnCommit]) -> str:
    """The document ``commit_turns`` takes: one object per turn."""
    return json.dumps([_turn(turn) for turn in turns])


def _turn(turn: TurnCommit) -> dict[str, Any]:
    update = turn.instance
    return {
        "instance_id": turn.instance_id,
        "lock_token": turn.lock_token,
        "execution_id": turn.execution_id,
        "next_execution_id": turn.next_execution_id,
        "events": [_event_fields(event) for event in turn.new_events],
        "consumed_message_ids": list(turn.consumed_message_ids),
        "instance": {
            "status": update.status,
            "version": update.version,
            "output": dump_json(update.output),
            "error": update.error,
            "failure": None if update.failure is None else payloads.dumps(update.failure.to_json()),
            "custom_status": dump_json(update.custom_status),
        },
        "activities": [[a.execution_id, a.event_id, activity_body(a)] for a in turn.activities],
        "messages": [[*message_fields(m.message), m.visible_at_ms] for m in turn.messages],
        "starts": [_start(start) for start in turn.starts],
        "cancel_activities": list(turn.cancel_activities),
    }


def events_json(events: Sequence[HistoryEvent]) -> str:
    """A copied history as ``reset_execution`` and ``fork_instance`` take it."""
    return json.dumps([_event_fields(event) for event in events])


def messages_json(messages: Sequence[Message]) -> str:
    """Messages as ``send_all`` takes them."""
    return json.dumps([message_fields(message) for message in messages])


def runtimes_json(runtimes: Sequence[RuntimeInfo]) -> str:
    return json.dumps([[r.worker_id, r.host, r.pid, r.app, r.started_at_ms, r.last_seen_at_ms] for r in runtimes])


def _event_fields(event: HistoryEvent) -> list[Any]:
    """[event_id, kind, timestamp_ms, body], as ``event_from_fields`` reads them back."""
    kind, body = dump_body(event.body)
    return [event.event_id, kind, event.timestamp_ms, body]


def _start(start: InstanceStart) -> list[Any]:
    conflict = None if start.on_conflict is None else message_fields(start.on_conflict)
    return [*start_fields(start.start), conflict]


def completions_json(completions: Sequence[ActivityCompletion]) -> str:
    """The document ``complete_activities`` takes: [work_id, token, instance, execution, kind, body]."""
    return json.dumps([[c.work_id, c.lock_token, *message_fields(c.message)] for c in completions])


# -- what comes back --------------------------------------------------------------------------


def instance_from_row(row: Mapping[str, Any]) -> InstanceRecord:
    """An InstanceRecord from a row (or a row's JSON object) with INSTANCE_COLUMNS."""
    failure = row["failure"]
    return InstanceRecord(
        instance_id=row["id"],
        name=row["name"],
        version=row["version"],
        status=row["status"],
        execution_id=row["execution_id"],
        output=load_json(row["output"]),
        error=row["error"],
        failure=None if failure is None else FailureDetails.from_json(json.loads(failure)),
        custom_status=load_json(row["custom_status"]),
        parent_instance_id=row["parent_instance_id"],
        created_at_ms=row["created_at_ms"],
        updated_at_ms=row["updated_at_ms"],
        incarnation=row["incarnation"],
        held=row["held"],
    )


def event_from_fields(fields: Sequence[Any]) -> HistoryEvent:
    """A HistoryEvent from [event_id, kind, timestamp_ms, body]."""
    event_id, kind, timestamp_ms, body = fields
    return HistoryEvent(event_id, timestamp_ms, load_body(kind, body))


def orchestration_work(document: Mapping[str, Any]) -> OrchestrationWork:
    """One element of ``fetch_orchestration_work``'s ``work``."""
    instance = instance_from_row(document["instance"])
    messages = [
        QueuedMessage(message_id, Message(instance.instance_id, load_body(kind, body), execution_id), deliveries)
        for message_id, execution_id, kind, body, deliveries in document["messages"]
    ]
    history = [event_from_fields(fields) for fields in document["history"]]
    return OrchestrationWork(instance, document["lock_token"], history, document["history_after"], messages)


def activity_work(fields: Sequence[Any]) -> ActivityWork:
    """One element of ``fetch_activity_work``'s ``work``."""
    work_id, token, instance_id, execution_id, event_id, body, deliveries = fields
    activity = activity_from_body(body, execution_id, event_id)
    return ActivityWork(work_id, token, instance_id, activity, deliveries)
