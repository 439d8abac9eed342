"""Drive the replay engine turn by turn, the way the runtime does, and check every turn twice.

``Harness`` keeps one ``Replayer`` alive between turns (the runtime's cached generator) and
feeds it only the new messages. With ``check_full_replay`` (the default) every turn is also
run on a fresh ``Replayer`` given the whole history so far as ``recorded`` (a cache miss); the
two must agree on everything the runtime would commit.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from duroxide_cli.history import HistoryEvent, TimerCreated
from duroxide_cli.messages import Message
from duroxide_cli.replay import Replayer, TurnResult

from .builders import INSTANCE_ID, START_MS, GuidSource, start_message

TURN_MS = 1_000
"""How far the clock moves between turns unless a turn names its time."""


class Harness:
    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        instance_id: str = INSTANCE_ID,
        execution_id: int = 1,
        check_full_replay: bool = True,
    ) -> None:
        self.fn = fn
        self.instance_id = instance_id
        self.execution_id = execution_id
        self.check_full_replay = check_full_replay
        self.replayer = Replayer(fn, instance_id, execution_id)
        self.history: list[HistoryEvent] = []
        self.results: list[TurnResult] = []
        self.now_ms = START_MS - TURN_MS

    def start(
        self, input: Any = None, *, name: str = "Test", version: str = "1.0.0", now_ms: int | None = None, **parent: Any
    ) -> TurnResult:
        """The first turn: the start message."""
        message = start_message(
            name, input, version, execution_id=self.execution_id, instance_id=self.instance_id, **parent
        )
        return self.turn(message, now_ms=now_ms)

    def turn(self, *messages: Message, now_ms: int | None = None) -> TurnResult:
        """One turn with these messages; the clock moves on by ``TURN_MS`` unless ``now_ms`` is given."""
        self.now_ms = self.now_ms + TURN_MS if now_ms is None else now_ms
        prefix = f"guid-t{len(self.results) + 1}"
        full = None
        if self.check_full_replay:
            fresh = Replayer(self.fn, self.instance_id, self.execution_id)
            full = fresh.run_turn(list(self.history), messages, self.now_ms, GuidSource(prefix))
            fresh.close()
        result = self.replayer.run_turn([], messages, self.now_ms, GuidSource(prefix))
        if full is not None:
            assert_same_turn(result, full)
        self.history.extend(result.new_events)
        self.results.append(result)
        return result

    # -- reading the history ----------------------------------------------------------------------
    def event(self, event_id: int) -> HistoryEvent:
        return self.history[event_id - 1]

    def scheduled(self, kind: str, name: str | None = None) -> list[HistoryEvent]:
        """Events of ``kind`` (and ``name`` where the kind has one), in history order."""
        return [e for e in self.history if e.kind == kind and (name is None or getattr(e.body, "name", None) == name)]

    def activity(self, name: str, nth: int = 0) -> HistoryEvent:
        return self.scheduled("ActivityScheduled", name)[nth]

    def timers(self) -> list[HistoryEvent]:
        return self.scheduled("TimerCreated")

    def fire_times(self) -> list[int]:
        return [e.body.fire_at_ms for e in self.timers() if isinstance(e.body, TimerCreated)]

    @property
    def kinds(self) -> list[str]:
        return [e.kind for e in self.history]

    @property
    def outcome(self) -> Any:
        return self.replayer.outcome


def assert_same_turn(cached: TurnResult, full: TurnResult) -> None:
    """The cached generator and a full replay must produce the same turn."""
    assert full.new_events == cached.new_events, "a full replay recorded different events than the cached generator"
    assert full.actions == cached.actions, "a full replay asked for different work than the cached generator"
    assert full.outcome == cached.outcome
    assert full.custom_status == cached.custom_status
    assert full.traces == cached.traces
    assert full.dropped == cached.dropped


def replay(
    fn: Callable[..., Any],
    events: Sequence[HistoryEvent],
    *,
    messages: Sequence[Message] = (),
    instance_id: str = INSTANCE_ID,
    execution_id: int = 1,
    now_ms: int = 10**9,
) -> tuple[Replayer, TurnResult]:
    """A full replay: a fresh Replayer given ``events`` as recorded (and optional new messages)."""
    replayer = Replayer(fn, instance_id, execution_id)
    result = replayer.run_turn(list(events), list(messages), now_ms, GuidSource("replay"))
    return replayer, result


def line_of(fn: Callable[..., Any], marker: str) -> str:
    """``file.py:LINE`` of the one line of ``fn``'s source that contains ``marker``."""
    lines, first = inspect.getsourcelines(fn)
    hits = [first + i for i, text in enumerate(lines) if marker in text]
    assert len(hits) == 1, f"marker {marker!r} found {len(hits)} times in {fn.__name__}"
    return f"{Path(inspect.getsourcefile(fn) or '').name}:{hits[0]}"
