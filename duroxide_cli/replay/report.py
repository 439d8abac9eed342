"""What ``check_history`` finds: each recorded event with what the current code did there, and
the first divergence, as data that ``duroxide replay`` renders and ``--output json`` prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..history import HistoryEvent

StepStatus = Literal["matched", "applied", "diverged", "not reached"]

USUAL_CAUSES = (
    "an activity, timer, event wait or sub-orchestration was added, removed or reordered before this point",
    "an activity's name or input changed (inputs must be computed only from the orchestration's input and earlier results)",
    "the code branches on something that is not recorded: the wall clock, random numbers, environment, "
    "global state -- use ctx.utc_now() / ctx.new_guid() or an activity instead",
    "to change the flow of running instances, register the new code as a new version "
    "(@app.orchestration(name, version=...)); running instances keep the version they started with",
)
"""Shown under a divergence by ``duroxide replay``."""


@dataclass(frozen=True, slots=True)
class ReplayStep:
    """One recorded event and what the current code did with it."""

    event: HistoryEvent
    """The recorded event."""
    status: StepStatus
    """``matched``: the code produced this scheduling event again; ``applied``: the event was
    delivered to the code; ``diverged``: the code did something else here; ``not reached``:
    replay stopped before it."""
    code: str = ""
    """What the code did, e.g. ``scheduled activity 'Charge' with input {...}``."""


@dataclass(frozen=True, slots=True)
class Divergence:
    """Where the current code stops agreeing with the recorded history."""

    recorded: str
    """The recorded event (or ending) the code should have produced."""
    action: str
    """What the code did instead."""
    location: str
    """``file.py:LINE`` in user code."""
    event_id: int | None
    """The recorded event at which the code diverged; None when the code did more than the
    history holds (the divergence then sits after ``after_event_id``)."""
    after_event_id: int
    """The last recorded event that replayed cleanly (0 if none)."""
    message: str
    """One line that reads well on its own."""


@dataclass(slots=True)
class ReplayReport:
    """The result of replaying one execution against the current code."""

    instance_id: str
    execution_id: int
    orchestration_name: str
    orchestration_version: str
    steps: list[ReplayStep]
    divergence: Divergence | None
    recorded_outcome: str
    """``Running`` (no ending recorded), ``Completed``, ``Failed``, ``Cancelled`` or ``ContinuedAsNew``."""
    replayed_outcome: str
    """The same, for what the code reached."""
    frame: Any = field(default=None, repr=False, compare=False)
    """The user's frame at the divergence (for a debugger), or None. Once the replay is over the
    generator is closed, and newer Pythons clear a closed frame's locals: see ``frame_locals``."""
    frame_locals: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The user's local variables where the code diverged (or raised), copied while it was suspended there."""

    @property
    def consistent(self) -> bool:
        """True when the code reproduces the history."""
        return self.divergence is None

    def to_json(self) -> dict[str, Any]:
        """The report as one JSON document (``duroxide replay --json``)."""
        divergence = self.divergence
        return {
            "instance_id": self.instance_id,
            "execution_id": self.execution_id,
            "orchestration_name": self.orchestration_name,
            "orchestration_version": self.orchestration_version,
            "consistent": self.consistent,
            "recorded_outcome": self.recorded_outcome,
            "replayed_outcome": self.replayed_outcome,
            "divergence": None
            if divergence is None
            else {
                "event_id": divergence.event_id,
                "after_event_id": divergence.after_event_id,
                "recorded": divergence.recorded,
                "action": divergence.action,
                "location": divergence.location,
                "message": divergence.message,
            },
            "steps": [
                {"event_id": s.event.event_id, "kind": s.event.kind, "status": s.status, "code": s.code} for s in self.steps
            ],
        }


