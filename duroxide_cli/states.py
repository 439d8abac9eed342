"""What the Client returns about instances: their state, their place in a tree, a page of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from .history import FailureDetails
from .providers.base import RUNTIME_LIVE_WITHIN_MS, TERMINAL_STATUSES, InstanceRecord
from .records import frozen_dataclass

NO_RUNTIME_REASON = (
    f"no runtime is serving this store (none seen in the last {RUNTIME_LIVE_WITHIN_MS // 1000} s); "
    "start one (`duroxide run`) to run this instance"
)
"""A Pending instance's ``error`` while no runtime is live (it takes precedence over the stored reason)."""


@frozen_dataclass
class OrchestrationState:
    """What an instance is doing, as ``status`` shows it."""

    instance_id: str
    name: str
    """The orchestration's name."""
    version: str | None
    """The version it runs (None until its first turn when started without one)."""
    status: str
    """One of Pending, Running, Completed, Failed, Cancelled."""
    output: Any = None
    """The parsed JSON output once Completed."""
    error: str | None = None
    """A one-line message: the failure, the cancel reason, or why a Pending instance waits; None
    while a Running instance is held back (see ``held``)."""
    failure: FailureDetails | None = None
    """Type, message and details of a failure."""
    execution_id: int = 1
    """1, then +1 at each continue_as_new."""
    custom_status: Any = None
    """The last value passed to ``ctx.set_custom_status``."""
    created_at_ms: int = 0
    """When the instance was created (epoch ms)."""
    updated_at_ms: int = 0
    """When its row last changed (epoch ms): a turn, a hold, the end."""
    held: str | None = None
    """Why ``duroxide run --reload`` holds this Running instance back (its code would diverge), or
    None; the instance stays Running and is not dispatched until a reload releases it."""

    @property
    def is_terminal(self) -> bool:
        """Completed, Failed or Cancelled."""
        return self.status in TERMINAL_STATUSES


@frozen_dataclass
class InstanceInfo:
    """An instance in depth: its state, its place in a tree, the size of its history."""

    state: OrchestrationState
    parent_instance_id: str | None
    children: tuple[str, ...]
    executions: int
    """How many executions (1 + continue_as_new count) are stored."""
    history_events: int
    """Events in the current execution."""


@frozen_dataclass
class InstanceTree:
    """An instance and its sub-orchestrations, recursively."""

    state: OrchestrationState
    children: tuple[InstanceTree, ...] = ()


@frozen_dataclass
class InstancePage:
    """One page of ``Client.list_instances_page``."""

    instances: list[OrchestrationState]
    """Newest first."""
    next_cursor: str | None
    """The cursor of the next page; None when there are no more matches."""


def state_of(record: InstanceRecord) -> OrchestrationState:
    """The state ``status`` shows of a stored instance row."""
    return OrchestrationState(
        instance_id=record.instance_id,
        name=record.name,
        version=record.version,
        status=record.status,
        output=record.output,
        error=record.error,
        failure=record.failure,
        execution_id=record.execution_id,
        custom_status=record.custom_status,
        created_at_ms=record.created_at_ms,
        updated_at_ms=record.updated_at_ms,
        held=record.held,
    )


def check_limit(limit: int) -> None:
    """Refuse a page size that is not a positive integer (ValueError)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive integer, got {limit!r}")


def any_pending(states: Sequence[OrchestrationState]) -> bool:
    """Whether any of ``states`` is Pending: only then does it matter whether a runtime is live."""
    return any(s.status == "Pending" for s in states)


def unserved(states: Sequence[OrchestrationState]) -> list[OrchestrationState]:
    """``states`` as seen while no runtime is live: each Pending one says so in its ``error``
    (the store's rows are not rewritten: liveness is a fact about now, read from the runtimes' rows)."""
    return [replace(s, error=NO_RUNTIME_REASON) if s.status == "Pending" else s for s in states]
