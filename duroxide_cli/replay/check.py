"""A replay report over a whole recorded history: does the current code still produce it?

``check_history`` replays one execution with the replay engine (no store, no clock, no I/O)
and pairs every recorded event with what the code did at that point. The first divergence is
reported with the recorded event, the action the code produced instead and the ``file.py:LINE``
of the yield in user code. ``duroxide replay`` renders this report, and ``duroxide run
--reload`` uses it to find the running instances that new code would break.

Consistency also covers the ending: an execution that recorded an ending must reach the same
kind of ending, and an unfinished one must still be waiting; code that now raises where the
history carried on is reported too, at the line of the exception.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import ConfigError
from ..history import ENDINGS, SCHEDULING_KINDS, TERMINAL_KINDS, HistoryEvent, OrchestrationStarted
from ..model.registry import Registry
from .actions import Failed, Outcome, outcome_name
from .code import OrchestrationFunction
from .driver import CodeDriver
from .engine import Replayer
from .report import Divergence, ReplayReport, ReplayStep

StepHook = Callable[[CodeDriver, str, HistoryEvent, str], None]
"""Called for every engine step, as the engine's observer is; ``duroxide replay --pdb`` uses it."""


def orchestration_for(registry: Registry, events: Sequence[HistoryEvent]) -> tuple[str, str, OrchestrationFunction]:
    """The (name, version, function) that recorded ``events``, looked up in ``registry``.

    Raises ``ConfigError`` when the history does not start with ``OrchestrationStarted`` or the
    registry lacks that orchestration or version.
    """
    started = _started(events)
    found = registry.get_orchestration(started.name, started.version)
    if found is None:
        versions = registry.orchestration_versions(started.name)
        if not versions:
            known = ", ".join(registry.orchestration_names) or "none"
            raise ConfigError(f"orchestration '{started.name}' is not registered in the app (registered: {known})")
        raise ConfigError(
            f"orchestration '{started.name}' version {started.version} is not registered in the app "
            f"(registered versions: {', '.join(versions)})"
        )
    version, fn = found
    return started.name, version, fn


def check_history(
    fn: OrchestrationFunction,
    events: Sequence[HistoryEvent],
    *,
    instance_id: str = "replay",
    execution_id: int = 1,
    on_step: StepHook | None = None,
) -> ReplayReport:
    """Replay ``events`` (one whole execution) against ``fn`` and report how they compare."""
    started = _started(events)
    steps: dict[int, ReplayStep] = {}
    last_frame: list[Any] = [None]
    frame_locals: dict[str, Any] = {}

    def observe(replayer: CodeDriver, step: str, event: HistoryEvent, description: str) -> None:
        last_frame[0] = replayer.frame() or last_frame[0]
        if step == "diverged" and last_frame[0] is not None:
            frame_locals.update(last_frame[0].f_locals)
        if step == "matched":
            steps[event.event_id] = ReplayStep(event, "matched", description)
        elif step == "applied":
            steps[event.event_id] = ReplayStep(event, "applied", _applied_text(event))
        if on_step is not None:
            on_step(replayer, step, event, description)

    replayer = Replayer(fn, instance_id, execution_id, observer=observe)
    now_ms = events[-1].timestamp_ms if events else 0
    replayer.run_turn(list(events), [], now_ms, _no_guid)
    frame = replayer.frame() or last_frame[0]

    recorded_outcome = next((ENDINGS[e.kind] for e in events if e.kind in TERMINAL_KINDS), "Running")
    replayed_outcome = outcome_name(replayer.outcome)
    divergence = _divergence(replayer, events, steps, recorded_outcome)
    rows = _rows(events, steps, divergence)
    if divergence is None:
        replayer.close()  # now, against a context that does nothing, not when it is collected
    return ReplayReport(
        instance_id=instance_id,
        execution_id=execution_id,
        orchestration_name=started.name,
        orchestration_version=started.version or "",
        steps=rows,
        divergence=divergence,
        recorded_outcome=recorded_outcome,
        replayed_outcome=replayed_outcome,
        frame=frame if divergence is not None else None,
        frame_locals=(frame_locals or _locals_of(frame)) if divergence is not None else {},
    )


def _locals_of(frame: Any) -> dict[str, Any]:
    return dict(frame.f_locals) if frame is not None else {}


def _no_guid() -> str:
    return ""  # a pure replay uses the recorded values; a new one only appears on divergence


def _started(events: Sequence[HistoryEvent]) -> OrchestrationStarted:
    if not events or not isinstance(events[0].body, OrchestrationStarted):
        raise ValueError("the history does not start with an OrchestrationStarted event")
    return events[0].body


def _divergence(
    replayer: Replayer, events: Sequence[HistoryEvent], steps: dict[int, ReplayStep], recorded_outcome: str
) -> Divergence | None:
    last_clean = max((event_id for event_id in steps), default=0)
    error = replayer.divergence
    if error is not None:
        event_id = _diverging_event(events, steps)
        return Divergence(
            recorded=error.recorded,
            action=error.action,
            location=error.location,
            event_id=event_id,
            after_event_id=_before(events, event_id) if event_id is not None else last_clean,
            message=str(error),
        )
    outcome: Outcome = replayer.outcome
    replayed = outcome_name(outcome)
    if replayed == recorded_outcome or events[-1].kind == "ExecutionReset":
        return None  # (a reset whose first turn has not run yet goes on past its copied events)
    ending = next((e for e in events if e.kind in TERMINAL_KINDS), None)
    if isinstance(outcome, Failed):
        failure = outcome.failure
        action = f"raised {failure.error_type}: {failure.message}"
        location = _raise_location(failure.details) or replayer.location()
    else:
        action = f"ended with {replayed}" if replayed != "Running" else "is still waiting"
        location = replayer.location()
    event_id = _diverging_event(events, steps) or _first_unreached(events, steps)
    at = next((e for e in events if e.event_id == event_id), None)
    if at is not None and at is not ending:
        recorded = _describe(at)
    else:
        recorded = _describe(ending) if ending is not None else "the execution still running"
    return Divergence(
        recorded=recorded,
        action=action,
        location=location,
        event_id=event_id,
        after_event_id=_before(events, event_id) if event_id is not None else last_clean,
        message=f"at {location}: history recorded {recorded}, but the code {action}",
    )


def _diverging_event(events: Sequence[HistoryEvent], steps: dict[int, ReplayStep]) -> int | None:
    """The first recorded scheduling event the code did not produce again, else a recorded
    ending the code did not reach; None when the code scheduled more than the history holds."""
    for event in events:
        if event.kind in SCHEDULING_KINDS and event.event_id not in steps:
            return event.event_id
    for event in events:
        if event.kind in TERMINAL_KINDS:
            return event.event_id
    return None


def _describe(event: HistoryEvent) -> str:
    name = getattr(event.body, "name", None)
    return f"{event.kind}{f' {name!r}' if name else ''} (event {event.event_id})"


def _first_unreached(events: Sequence[HistoryEvent], steps: dict[int, ReplayStep]) -> int | None:
    return next((e.event_id for e in events if e.event_id not in steps), None)


def _before(events: Sequence[HistoryEvent], event_id: int) -> int:
    ids = [e.event_id for e in events if e.event_id < event_id]
    return ids[-1] if ids else 0


def _rows(events: Sequence[HistoryEvent], steps: dict[int, ReplayStep], divergence: Divergence | None) -> list[ReplayStep]:
    rows = []
    for event in events:
        if divergence is not None and divergence.event_id == event.event_id:
            rows.append(ReplayStep(event, "diverged", divergence.action))
        elif divergence is not None and divergence.event_id is not None and event.event_id > divergence.event_id:
            rows.append(ReplayStep(event, "not reached"))
        elif event.event_id in steps:
            rows.append(steps[event.event_id])
        else:
            rows.append(ReplayStep(event, "not reached"))
    return rows


def _applied_text(event: HistoryEvent) -> str:
    kind = event.kind
    if kind == "OrchestrationStarted":
        return "started with the recorded input"
    if event.source_event_id is not None:
        return f"received the result of event {event.source_event_id}"
    if kind == "EventRaised":
        return "received the event"
    if kind == "CancelRequested":
        return "was asked to cancel"
    if kind in TERMINAL_KINDS:
        return f"reached {ENDINGS[kind]}"
    return ""


_FRAME_LINE = re.compile(r'File "([^"]+)", line (\d+)')


def _raise_location(details: str) -> str | None:
    """``file.py:LINE`` of the innermost frame of a formatted traceback (for display only)."""
    found = _FRAME_LINE.findall(details or "")
    if not found:
        return None
    path, line = found[-1]
    return f"{path.rsplit('/', 1)[-1]}:{line}"
