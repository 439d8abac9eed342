"""Between the protocol's dataclasses and the PostgreSQL store's rows and JSON documents.

Batch calls send one JSON document to a server-side function (a turn, a list of completions)
and fetches get one back; payloads and event bodies travel inside it as JSON text, the same
text the columns hold, so a value comes back exactly as it was written. The server never parses
them, so a row damaged on disk or by hand reaches Python as it is and is decoded here, one row
at a time: what cannot be decoded is an ``UnreadableRow`` naming it, or, in a fetch, the work's
``unreadable`` marker (providers/base.py, "Unreadable rows").
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
    NewActivity,
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


class UnreadableRow(Exception):
    """A stored row that cannot be decoded (JSON that does not parse, an unknown event kind, a
    missing field); the message names the row. The provider turns it into a ProviderError that
    is not retryable, or, in a fetch, into the work's ``unreadable`` marker."""


_DECODING_ERRORS = (ValueError, TypeError, KeyError, AttributeError, RecursionError)
"""What decoding a damaged row raises (a JSONDecodeError is a ValueError)."""


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".splitlines()[0]


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


KNOWN_SEPARATOR = "\x1f"
"""Separates instance ids and incarnations in what ``known_lists`` sends (see migration 004)."""


def known_lists(known: Mapping[str, KnownHistory]) -> tuple[str, str, str, str]:
    """What the caller holds, as ``fetch_orchestration_work`` takes it: ids, incarnations,
    executions and event counts as four texts of parallel lists. Joining strings is several times
    cheaper than a JSON document or text[] parameters for a thousand cached instances."""
    held = known.values()
    return (
        KNOWN_SEPARATOR.join(known),
        KNOWN_SEPARATOR.join([h.incarnation for h in held]),
        ",".join([str(h.execution_id) for h in held]),
        ",".join([str(h.event_count) for h in held]),
    )


def turns_json(turns: Sequence[TurnCommit]) -> str:
    """The document ``commit_turns`` takes: one object per turn."""
    return json.dumps([_turn(turn) for turn in turns])


def _turn(turn: TurnCommit) -> dict[str, Any]:
    update = turn.instance
    lease = turn.lease_activities
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
        "lease_activities": None if lease is None else {
            "owner": lease.owner, "lock_timeout_ms": lease.lock_timeout_ms, "limit": lease.limit
        },
        "completed_work": [[held.work_id, held.lock_token] for held in turn.completed_work],
        "take_lock": None if turn.take_lock is None else {
            "incarnation": turn.take_lock.incarnation, "history_len": turn.take_lock.history_len
        },
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
    """An InstanceRecord from a row (or a row's JSON object) with INSTANCE_COLUMNS; UnreadableRow
    when one of its JSON columns cannot be decoded."""
    try:
        return _instance(row, load_json(row["output"]), _load_failure(row["failure"]), load_json(row["custom_status"]))
    except _DECODING_ERRORS as error:
        raise UnreadableRow(f"the row of instance {row['id']!r} cannot be read ({_describe(error)})") from error


def _instance_leniently(row: Mapping[str, Any]) -> tuple[InstanceRecord, str | None]:
    """The record, with every JSON column that cannot be decoded left None, and what could not
    be read (None when everything could)."""
    try:
        return instance_from_row(row), None
    except UnreadableRow as unreadable:
        values = []
        for load, column in ((load_json, "output"), (_load_failure, "failure"), (load_json, "custom_status")):
            try:
                values.append(load(row[column]))
            except _DECODING_ERRORS:
                values.append(None)
        return _instance(row, *values), str(unreadable)


def _load_failure(text: str | None) -> FailureDetails | None:
    return None if text is None else FailureDetails.from_json(json.loads(text))


def _instance(row: Mapping[str, Any], output: Any, failure: FailureDetails | None, custom_status: Any) -> InstanceRecord:
    return InstanceRecord(
        instance_id=row["id"],
        name=row["name"],
        version=row["version"],
        status=row["status"],
        execution_id=row["execution_id"],
        output=output,
        error=row["error"],
        failure=failure,
        custom_status=custom_status,
        parent_instance_id=row["parent_instance_id"],
        created_at_ms=row["created_at_ms"],
        updated_at_ms=row["updated_at_ms"],
        incarnation=row["incarnation"],
        held=row["held"],
    )


def event_from_fields(fields: Sequence[Any], instance_id: str, execution_id: int) -> HistoryEvent:
    """A HistoryEvent from [event_id, kind, timestamp_ms, body] of ``execution_id`` of
    ``instance_id``; UnreadableRow (naming the three) when its body cannot be decoded."""
    event_id, kind, timestamp_ms, body = fields
    try:
        return HistoryEvent(event_id, timestamp_ms, load_body(kind, body))
    except _DECODING_ERRORS as error:
        raise UnreadableRow(
            f"event {event_id} ({kind}) of execution {execution_id} of instance {instance_id!r} cannot be read"
            f" ({_describe(error)})"
        ) from error


def _message(instance_id: str, fields: Sequence[Any]) -> QueuedMessage:
    """A QueuedMessage from [id, execution_id, kind, body, deliveries]; UnreadableRow (naming the
    message and its instance) when its body cannot be decoded."""
    message_id, execution_id, kind, body, deliveries = fields
    try:
        message = Message(instance_id, load_body(kind, body), execution_id)
    except _DECODING_ERRORS as error:
        raise UnreadableRow(
            f"queued message {message_id} ({kind}) for instance {instance_id!r} cannot be read ({_describe(error)})"
        ) from error
    return QueuedMessage(message_id, message, deliveries)


def orchestration_work(document: Mapping[str, Any]) -> OrchestrationWork:
    """One element of ``fetch_orchestration_work``'s ``work``. Rows that cannot be decoded fail
    only this work: they are named in its ``unreadable`` marker, the history stops before the
    first such event, and such messages are listed in ``unreadable_message_ids``."""
    instance, bad_row = _instance_leniently(document["instance"])
    unreadable = [] if bad_row is None else [bad_row]
    messages: list[QueuedMessage] = []
    unreadable_ids: list[int] = []
    for fields in document["messages"]:
        try:
            messages.append(_message(instance.instance_id, fields))
        except UnreadableRow as error:
            unreadable.append(str(error))
            unreadable_ids.append(fields[0])
    history: list[HistoryEvent] = []
    try:
        for fields in document["history"]:
            history.append(event_from_fields(fields, instance.instance_id, instance.execution_id))
    except UnreadableRow as error:
        unreadable.insert(0, str(error))
    return OrchestrationWork(
        instance,
        document["lock_token"],
        history,
        document["history_after"],
        messages,
        "; ".join(unreadable) or None,
        tuple(unreadable_ids),
    )


def activity_work(fields: Sequence[Any]) -> ActivityWork:
    """One element of ``fetch_activity_work``'s ``work``; work whose body cannot be decoded comes
    with a placeholder activity and the ``unreadable`` marker naming it."""
    work_id, token, instance_id, execution_id, event_id, body, deliveries = fields
    try:
        activity = activity_from_body(body, execution_id, event_id)
    except _DECODING_ERRORS as error:
        what = (
            f"the work of activity {event_id} of execution {execution_id} of instance {instance_id!r} cannot be read"
            f" ({_describe(error)})"
        )
        placeholder = NewActivity(execution_id, event_id, "?", None, 1, "?", "")
        return ActivityWork(work_id, token, instance_id, placeholder, deliveries, what)
    return ActivityWork(work_id, token, instance_id, activity, deliveries)
