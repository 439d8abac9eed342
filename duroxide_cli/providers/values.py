"""The values that cross the Provider protocol: instance rows, locked work, what a turn
commits, admin results. ``providers/base.py`` says what each method does with them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import field
from typing import Any, Literal, NamedTuple, get_args

from ..history import FailureDetails, HistoryEvent
from ..messages import Message, QueuedMessage
from ..records import frozen_dataclass

InstanceStatus = Literal["Pending", "Running", "Completed", "Failed", "Cancelled"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"Completed", "Failed", "Cancelled"})


@frozen_dataclass
class InstanceRecord:
    """The stored row of an instance."""

    instance_id: str
    name: str
    version: str | None
    """None until the first turn resolves it (a start without a version)."""
    status: InstanceStatus
    execution_id: int
    """The current (latest) execution."""
    output: Any = None
    error: str | None = None
    """The one-line failure, cancel reason, or why a Pending instance is not running (a hold is in ``held``)."""
    failure: FailureDetails | None = None
    custom_status: Any = None
    parent_instance_id: str | None = None
    created_at_ms: int = 0
    updated_at_ms: int = 0
    incarnation: str = ""
    """The opaque token made when this row was created; a new one for an id deleted and started again."""
    held: str | None = None
    """Why ``duroxide run --reload`` holds this instance back (None: it is not held); see ``set_instance_held``."""


class KnownHistory(NamedTuple):
    """What a caller already holds of an instance's history (a cached generator's position)."""

    incarnation: str
    """The instance's incarnation it was built for."""
    execution_id: int
    event_count: int
    """How many events of that execution it has seen."""


@frozen_dataclass
class OrchestrationWork:
    """One locked instance with its history and its visible messages."""

    instance: InstanceRecord
    lock_token: str
    history: list[HistoryEvent]
    """Events of ``instance.execution_id`` after the first ``history_after``."""
    history_after: int
    """How many events the caller already holds: the count it passed in ``known`` if the
    incarnation and the execution matched, else 0 (and ``history`` is the whole history)."""
    messages: list[QueuedMessage]
    """Every visible message of the instance at fetch time, oldest first."""
    unreadable: str | None = None
    """Which of the instance's rows cannot be decoded, in one line naming the instance and the row
    (None: all could). Then ``history`` holds only the events before the first unreadable one and
    ``messages`` only the readable messages; see "Unreadable rows" above."""
    unreadable_message_ids: tuple[int, ...] = ()
    """Ids of the locked messages that cannot be decoded (consume them with the others)."""


@frozen_dataclass
class NewActivity:
    """Activity work a turn enqueues."""

    execution_id: int
    event_id: int
    """The ActivityScheduled event's id: the activity id."""
    name: str
    input: Any
    attempt: int
    orchestration_name: str
    orchestration_version: str


@frozen_dataclass
class ActivityWork:
    """One locked activity work item."""

    work_id: int
    lock_token: str
    instance_id: str
    activity: NewActivity
    delivery_count: int
    unreadable: str | None = None
    """Why the work's stored row cannot be decoded, naming it (None: it could); ``activity`` then
    holds only its ids (name ``"?"``, input None). The runtime fails it without running code."""


@frozen_dataclass
class OutgoingMessage:
    """A message a turn sends (to itself for timers, to a parent, to a child)."""

    message: Message
    visible_at_ms: int | None = None
    """None: at once. Timers are messages visible later."""


@frozen_dataclass
class InstanceStart:
    """A new instance a turn creates (a child, or a fire-and-forget start)."""

    start: Message
    """Its OrchestrationStarted message (execution 1)."""
    on_conflict: Message | None = None
    """Enqueued instead (to the parent) when the id already exists; None: ignore the start, with a
    warning on the ``duroxide.provider`` logger."""


@frozen_dataclass
class InstanceUpdate:
    """The instance row after a turn."""

    status: InstanceStatus
    version: str | None
    output: Any = None
    error: str | None = None
    failure: FailureDetails | None = None
    custom_status: Any = None


@frozen_dataclass
class TurnCommit:
    """Everything one turn of one instance writes, atomically."""

    instance_id: str
    lock_token: str
    execution_id: int
    """The execution the new events belong to."""
    new_events: Sequence[HistoryEvent]
    consumed_message_ids: Sequence[int]
    instance: InstanceUpdate
    activities: Sequence[NewActivity] = ()
    messages: Sequence[OutgoingMessage] = ()
    starts: Sequence[InstanceStart] = ()
    cancel_activities: Sequence[int] = ()
    """Activity ids (of this execution) no longer wanted: their work is removed, and a worker
    holding one learns it on its next renewal."""
    next_execution_id: int | None = None
    """Continue-as-new: the instance moves to this execution (its start message is in ``messages``)."""
    lease_activities: ActivityLease | None = None
    """Lease the first ``limit`` of ``activities`` to the committing process as they are enqueued
    (``commit_turns_leasing`` returns them); None: enqueue them all for any fetch."""
    completed_work: Sequence[HeldWork] = ()
    """Activity work items whose results are among ``new_events`` (delivered to this turn in memory,
    not queued): removed with the turn, which is refused if any of their leases moved on."""
    take_lock: TakeLock | None = None
    """The turn ran without the instance's lock, on what its caller held of the instance: the
    commit takes the lock itself, only if the instance is still as the turn assumed
    (``commit_turns_leasing``); ``lock_token`` is then not looked at."""


@frozen_dataclass
class ActivityLease:
    """How a turn's commit leases the activities it enqueues to the process that commits it."""

    owner: str
    lock_timeout_ms: int
    limit: int
    """At most this many (the first of the turn's ``activities``); the rest stay queued for fetches."""


@frozen_dataclass
class TakeLock:
    """What a turn run without the instance's lock assumed of the instance (``TurnCommit.take_lock``)."""

    incarnation: str
    history_len: int
    """The events of the turn's execution stored before it (the turn's own follow them)."""


@frozen_dataclass
class HeldWork:
    """An activity work item, named by the lease its holder has on it."""

    work_id: int
    lock_token: str


CommitOutcome = Literal["committed", "lock_lost"]


@frozen_dataclass
class CommitResult:
    """What ``commit_turns_leasing`` says of one turn."""

    outcome: CommitOutcome
    leased: tuple[ActivityWork, ...] = ()
    """The activities the commit leased to the caller (``TurnCommit.lease_activities``), in the
    turn's order; empty unless ``outcome`` is "committed"."""


@frozen_dataclass
class ActivityCompletion:
    """An activity's result, enqueued for its instance as the work item is removed."""

    work_id: int
    lock_token: str
    message: Message


@frozen_dataclass
class ExecutionInfo:
    """One execution of an instance."""

    execution_id: int
    status: InstanceStatus
    """Running, or how it ended (a continued-as-new execution is Completed)."""
    event_count: int
    started_at_ms: int
    ended_at_ms: int | None


@frozen_dataclass
class QueueDepths:
    """Messages waiting in each queue."""

    orchestrator: int
    """Visible orchestrator messages."""
    worker: int
    """Activity work items, locked or not."""
    timer: int
    """Orchestrator messages not visible yet (timers and back-offs)."""


@frozen_dataclass
class SystemMetrics:
    """Instances by status."""

    by_status: dict[str, int] = field(default_factory=dict)
    total: int = 0


@frozen_dataclass
class InstanceFilter:
    """Which instances a listing or count matches: every field that is set must hold (AND).

    The default matches every instance."""

    statuses: tuple[InstanceStatus, ...] = ()
    """Any of these statuses; empty: any status."""
    name: str | None = None
    """This orchestration name, exactly."""
    id_prefix: str | None = None
    """Instance ids that start with this text (case-sensitive)."""
    created_since_ms: int | None = None
    """Created at or after this time (epoch milliseconds)."""
    created_until_ms: int | None = None
    """Created before this time (epoch milliseconds)."""
    top_level: bool = False
    """Only instances that are not sub-orchestrations (no parent instance)."""

    def __post_init__(self) -> None:
        statuses = (self.statuses,) if isinstance(self.statuses, str) else tuple(self.statuses)
        unknown = [s for s in statuses if s not in _STATUS_NAMES]
        if unknown:
            raise ValueError(f"unknown status {unknown[0]!r}; the statuses are {', '.join(_STATUS_NAMES)}")
        object.__setattr__(self, "statuses", statuses)


_STATUS_NAMES: tuple[str, ...] = get_args(InstanceStatus)


@frozen_dataclass
class InstanceRecordPage:
    """One page of a keyset-paginated listing, newest first."""

    records: list[InstanceRecord]
    next_cursor: str | None
    """Pass it back to get the next page; None when this page is the last."""


RUNTIME_HEARTBEAT_INTERVAL_MS = 5000
"""How often a running Runtime refreshes its row's ``last_seen_at_ms`` (at most this long apart)."""
RUNTIME_LIVE_WITHIN_MS = 15000
"""A runtime is live when its row was refreshed within this long: three missed heartbeats."""


@frozen_dataclass
class RuntimeInfo:
    """A runtime serving the store: the row it registers at start, refreshes while it runs
    (every ``RUNTIME_HEARTBEAT_INTERVAL_MS``) and removes on a clean shutdown.

    Rows are keyed by ``worker_id``: two runtimes given the same worker id share one row. A row
    left by a process that died stops being live ``RUNTIME_LIVE_WITHIN_MS`` after its last
    refresh; times are the registering runtime's clock."""

    worker_id: str
    """The runtime's ``RuntimeOptions.worker_id``, which also names it in locks."""
    host: str
    """The host name of its machine."""
    pid: int
    """Its process id on that host."""
    app: str | None
    """The app it was started with (``duroxide run APP``), or None (a Runtime made in code without one)."""
    started_at_ms: int
    """When it started (epoch ms)."""
    last_seen_at_ms: int
    """When it last refreshed its row (epoch ms)."""


Queue = Literal["orchestrator", "worker"]
