"""The history of an execution: an envelope (`HistoryEvent`) around one frozen dataclass per kind.

Events are past-tense facts. Their JSON form is one flat object -- ``event_id``, ``kind``,
``timestamp_ms``, ``source_event_id`` (completions only), then the kind's own fields -- and is
what ``duroxide history export`` writes and ``duroxide replay --file`` reads.
"""

from __future__ import annotations

import dataclasses
import os
import traceback
from typing import Any, Union

from .records import frozen_dataclass

_CALLER_DIRS = (os.path.dirname(os.path.abspath(__file__)) + os.sep, os.path.dirname(os.path.abspath(os.__file__)) + os.sep)
"""Where the frames that run user code live: this package and the standard library (thread
pools), which is where ``os`` lives (``sysconfig`` says the same but costs a millisecond to
import in every short command)."""


@frozen_dataclass
class FailureDetails:
    """Why something failed, in a form that survives JSON."""

    error_type: str
    """The exception class's ``__name__``."""
    message: str
    """The exception's message."""
    details: str = ""
    """The traceback text, when there is one."""

    def to_json(self) -> dict[str, Any]:
        return {"error_type": self.error_type, "message": self.message, "details": self.details}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FailureDetails:
        return cls(data["error_type"], data.get("message", ""), data.get("details", ""))

    @classmethod
    def from_exception(cls, error: BaseException) -> FailureDetails:
        """Describe ``error``; the traceback starts at the first frame of user code, leaving
        out the duroxide (and standard library) frames that called it. Undecodable bytes in the
        text (lone surrogates, e.g. a file name from ``os.fsdecode``) are kept as ``\\udcff``
        escapes and NUL characters as ``\\x00``, so the failure can always be stored and printed."""
        tb = error.__traceback__
        while tb is not None and tb.tb_next is not None and tb.tb_frame.f_code.co_filename.startswith(_CALLER_DIRS):
            tb = tb.tb_next
        details = "".join(traceback.format_exception(type(error), error, tb))
        message = str(error)
        if isinstance(error, SystemExit):
            message = f"sys.exit({'' if error.code is None else repr(error.code)}) was called"
        return cls(type(error).__name__, _storable(message), _storable(details))


def _storable(text: str) -> str:
    """``text`` with any lone surrogate written as its backslash escape (UTF-8 cannot encode one)
    and any NUL character as ``\\x00`` (PostgreSQL cannot store one)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


@frozen_dataclass
class OrchestrationStarted:
    """An execution began. ``version`` is None only in a start message not yet resolved."""

    name: str
    version: str | None
    input: Any = None
    parent_instance_id: str | None = None
    parent_execution_id: int | None = None
    parent_event_id: int | None = None


@frozen_dataclass
class ActivityScheduled:
    """The orchestration asked for an activity (``attempt`` counts retries from 1)."""

    name: str
    input: Any = None
    attempt: int = 1


@frozen_dataclass
class ActivityCompleted:
    source_event_id: int
    result: Any = None


@frozen_dataclass
class ActivityFailed:
    source_event_id: int
    failure: FailureDetails


@frozen_dataclass
class TimerCreated:
    fire_at_ms: int


@frozen_dataclass
class TimerFired:
    source_event_id: int
    fire_at_ms: int


@frozen_dataclass
class EventSubscribed:
    name: str


@frozen_dataclass
class EventRaised:
    name: str
    data: Any = None


@frozen_dataclass
class SubOrchestrationScheduled:
    name: str
    instance_id: str
    input: Any = None
    version: str | None = None


@frozen_dataclass
class SubOrchestrationCompleted:
    source_event_id: int
    output: Any = None


@frozen_dataclass
class SubOrchestrationFailed:
    source_event_id: int
    failure: FailureDetails


@frozen_dataclass
class OrchestrationChained:
    """A fire-and-forget start of an independent instance."""

    name: str
    instance_id: str
    input: Any = None
    version: str | None = None


@frozen_dataclass
class SystemCall:
    """A value recorded inline: ``op`` is ``utc_now`` or ``new_guid``."""

    op: str
    value: Any


@frozen_dataclass
class CustomStatusSet:
    value: Any


@frozen_dataclass
class CancelRequested:
    """A cancel (the code's pending yield raises ``OrchestrationCancelled``) or, with ``terminate``,
    a hard stop (no more user code runs)."""

    reason: str | None = None
    terminate: bool = False


@frozen_dataclass
class ExecutionReset:
    """This execution goes on from event ``from_event_id`` of execution ``from_execution_id`` (a
    reset, or a fork into a new instance): the events before this one were copied from there, the
    ones after it are new. Replay applies it as a marker; matching ignores it. (The event id is
    ``from_event_id`` because the flat JSON of an event already has its own ``event_id``.)"""

    from_execution_id: int
    from_event_id: int
    reason: str | None = None


@frozen_dataclass
class ContinuedAsNew:
    input: Any = None
    version: str | None = None


@frozen_dataclass
class OrchestrationCompleted:
    output: Any = None


@frozen_dataclass
class OrchestrationFailed:
    failure: FailureDetails


@frozen_dataclass
class OrchestrationCancelled:
    """The execution ended cancelled: ``failure`` is ``OrchestrationCancelled`` (the exception left
    the code) or ``Terminated`` (a hard stop)."""

    reason: str | None = None
    failure: FailureDetails | None = None


EventBody = Union[
    OrchestrationStarted,
    ActivityScheduled,
    ActivityCompleted,
    ActivityFailed,
    TimerCreated,
    TimerFired,
    EventSubscribed,
    EventRaised,
    SubOrchestrationScheduled,
    SubOrchestrationCompleted,
    SubOrchestrationFailed,
    OrchestrationChained,
    SystemCall,
    CustomStatusSet,
    CancelRequested,
    ExecutionReset,
    ContinuedAsNew,
    OrchestrationCompleted,
    OrchestrationFailed,
    OrchestrationCancelled,
]

EVENT_TYPES: dict[str, type] = {cls.__name__: cls for cls in EventBody.__args__}  # type: ignore[attr-defined]

SCHEDULING_KINDS = frozenset(
    {
        "ActivityScheduled",
        "TimerCreated",
        "EventSubscribed",
        "SubOrchestrationScheduled",
        "OrchestrationChained",
        "SystemCall",
    }
)
"""Kinds the code produces by yielding; replay matches them positionally."""

COMPLETES = {
    "ActivityCompleted": "ActivityScheduled",
    "ActivityFailed": "ActivityScheduled",
    "TimerFired": "TimerCreated",
    "SubOrchestrationCompleted": "SubOrchestrationScheduled",
    "SubOrchestrationFailed": "SubOrchestrationScheduled",
}
"""Completion kind -> the scheduling kind it completes."""

ENDINGS = {
    "OrchestrationCompleted": "Completed",
    "OrchestrationFailed": "Failed",
    "OrchestrationCancelled": "Cancelled",
    "ContinuedAsNew": "ContinuedAsNew",
}
"""Kind of an execution's last event -> how the execution ended."""

TERMINAL_KINDS = frozenset(ENDINGS)
"""Kinds that end an execution."""


@frozen_dataclass
class HistoryEvent:
    """One entry of an execution's history."""

    event_id: int
    """1, 2, ... within the execution."""
    timestamp_ms: int
    """When it was recorded, epoch milliseconds."""
    body: EventBody
    """The kind's own fields."""

    @property
    def kind(self) -> str:
        """The kind's name, e.g. ``"ActivityScheduled"``."""
        return type(self.body).__name__

    @property
    def source_event_id(self) -> int | None:
        """For a completion, the id of the event that scheduled it."""
        return getattr(self.body, "source_event_id", None)

    def to_json(self) -> dict[str, Any]:
        """The flat JSON object of this event."""
        return {"event_id": self.event_id, "kind": self.kind, "timestamp_ms": self.timestamp_ms, **body_to_json(self.body)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HistoryEvent:
        """Parse the flat JSON object; raises ``ValueError`` naming the event and the field on an
        unknown kind, a missing field or a field of the wrong type."""
        from .history_checks import check_event_json

        check_event_json(data)
        try:
            body = body_from_json(data)
        except ValueError as error:
            raise ValueError(f"event {data['event_id']}: {error}") from None
        return cls(data["event_id"], data.get("timestamp_ms", 0), body)


_FIELDS: dict[type, tuple[tuple[str, bool], ...]] = {}
"""Per body class, each field's name and whether it is required: ``dataclasses.fields`` builds
its tuple anew at every call, and every stored event and message goes through here."""


def _fields_of(cls: type) -> tuple[tuple[str, bool], ...]:
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = tuple(
            (field.name, field.default is dataclasses.MISSING) for field in dataclasses.fields(cls)
        )
    return found


def body_to_json(body: EventBody) -> dict[str, Any]:
    """The kind's fields as JSON (``source_event_id`` first when present)."""
    out: dict[str, Any] = {}
    for name, _ in _fields_of(type(body)):
        value = getattr(body, name)
        out[name] = value.to_json() if isinstance(value, FailureDetails) else value
    return out


def body_from_json(data: dict[str, Any]) -> EventBody:
    """Build a body from a JSON object that carries ``kind`` and the kind's fields."""
    kind = data.get("kind")
    cls = EVENT_TYPES.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise ValueError(f"unknown history event kind {kind!r}")
    values: dict[str, Any] = {}
    for name, required in _fields_of(cls):
        if name not in data:
            if required:
                raise ValueError(f"{kind} event is missing its field {name!r}")
            continue
        value = data[name]
        if name == "failure" and value is not None:
            value = FailureDetails.from_json(value)
        values[name] = value
    return cls(**values)
