"""The turn driver: history + new messages + generator -> new events, actions and an outcome.

Pure: no I/O, no clock, no logging. The turn's time and GUID source are passed in.

How a turn works. Recorded events are applied in history order with ``is_replaying`` true;
then each new message is checked, recorded as an event and applied. Applying a completion
settles the node waiting for it; when the node the generator yielded has settled, the
generator is resumed at once, so the code sees completions in exactly the order the history
holds them. What the code yields becomes nodes through the ``TaskScheduler`` (which matches it
against the recorded scheduling events); external events wait in the ``EventInbox``; the code
itself is started, resumed, cancelled and ended by ``driver.CodeDriver``, which this extends.

Divergence is signalled one way: the engine's own frames raise ``NondeterminismError`` (user
code never sees it), and ``_apply_event`` catches it around each applied event, where the
execution fails with it while the code is still suspended at the diverging yield.

A ``Replayer`` keeps its generator between turns, so the runtime can cache it and feed only
new messages; ``run_turn`` on a fresh one with the whole history is a full replay.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..errors import NondeterminismError
from ..history import (
    ENDINGS,
    SCHEDULING_KINDS,
    TERMINAL_KINDS,
    CancelRequested,
    CustomStatusSet,
    EventRaised,
    ExecutionReset,
    FailureDetails,
    HistoryEvent,
    OrchestrationFailed,
    OrchestrationStarted,
)
from ..messages import Message
from . import divergence
from .actions import (
    Continue,
    Failed,
    TurnResult,
    outcome_name,
)
from .driver import CodeDriver
from .endings import IMPOSED_FAILURES
from .intake import accept, first_turn_order


class Replayer(CodeDriver):
    """The live state of one execution of one orchestration, and its turns."""

    # -- the turn -----------------------------------------------------------------------------
    @property
    def history(self) -> list[HistoryEvent]:
        return self.journal.events

    @property
    def event_count(self) -> int:
        return len(self.journal)

    @property
    def now_ms(self) -> int:
        return self.journal.now_ms

    def run_turn(
        self,
        recorded: Sequence[HistoryEvent],
        messages: Sequence[Message],
        now_ms: int,
        new_guid: Callable[[], str],
    ) -> TurnResult:
        """Apply ``recorded`` (events after those already held) as replay, then ``messages``."""
        self._result = result = TurnResult()
        first_turn = not self.journal.events and not recorded
        self.journal.begin_turn(result.new_events, recorded, now_ms)
        self.scheduler.begin_turn(recorded, result.actions, new_guid)
        reset = recorded[-1].body if recorded and isinstance(recorded[-1].body, ExecutionReset) else None
        woken = reset is not None and _woken_by_reset(messages)  # the reset's first turn
        if reset is not None:  # a reset's (or fork's) execution, at its first turn or still where that left it
            self.scheduler.reset_from(reset)
            self.scheduler.continue_past_history()
        for event in recorded:
            if self.journal.replaying:
                self.journal.now_ms = event.timestamp_ms
            self._apply_event(event)
            if self.divergence is not None:
                break
        if woken and not self.finished and self.divergence is None:
            self.scheduler.reissue_pending()
        self.journal.go_live()
        if self.divergence is None and recorded and self.finished and self.journal.events[-1].kind not in TERMINAL_KINDS:
            self._record_replayed_ending()
        if self.divergence is not None:
            self._fail_diverged(messages)
            messages = []
        if first_turn or woken:
            messages = first_turn_order(messages, self.execution_id)
        for message in messages:
            body, self.outcome, dropped = accept(message, self.outcome, bool(self.journal.events), self.scheduler)
            if dropped is not None:
                result.dropped.append(dropped)
            if body is not None:
                self._apply_event(self.journal.append(body))
                if self.divergence is not None and not self.finished:
                    self._fail_diverged([])
        result.custom_status = self._custom_status
        result.outcome = self.outcome
        return result

    def _apply_event(self, event: HistoryEvent) -> None:
        """Apply one event; the one place a divergence ends the execution."""
        self._current = event
        try:
            self._apply(event)
        except NondeterminismError as error:
            self._diverged(error)

    def _diverged(self, error: NondeterminismError) -> None:
        if self._current is not None:  # the code is still suspended where it diverged: a debugger can look
            self._observe("diverged", self._current, str(error))
        self.divergence = error

    def _fail_diverged(self, messages: Sequence[Message]) -> None:
        """End the execution with its divergence. The turn's events are recorded first (events are
        always recorded: a reset delivers them again); its other messages are dropped."""
        assert self.divergence is not None
        self.journal.go_live()
        for message in messages:
            if isinstance(message.body, EventRaised):
                self.journal.append(message.body)
        # The code may have ended during replay before the history showed it diverged; that
        # ending was never recorded, and the divergence is what the instance fails with.
        self.outcome = Continue()
        self._fail(FailureDetails("NondeterminismError", str(self.divergence), ""))
        for message in messages:
            if not isinstance(message.body, EventRaised):
                _, _, dropped = accept(message, self.outcome, True, self.scheduler)
                if dropped is not None:
                    self._result.dropped.append(dropped)

    def _record_replayed_ending(self) -> None:
        """The code ended while replaying, where the history shows the execution still running."""
        if isinstance(self.outcome, Failed):
            self.journal.append(OrchestrationFailed(self.outcome.failure))  # the code raised: a new failure
            return
        self._diverged(divergence.no_recorded_ending(self.journal.events[-1], type(self.outcome).__name__, self.location()))

    # -- applying events -------------------------------------------------------------------------
    def _apply(self, event: HistoryEvent) -> None:
        body = event.body
        if event.kind in SCHEDULING_KINDS:
            if not self.scheduler.claimed(event.event_id) and not isinstance(self.outcome, Failed):
                raise divergence.not_scheduled(event, self._state_text(), self.location())
            return
        self._observe("applied", event, "")
        if event.kind in TERMINAL_KINDS:
            self._check_ending(event)
            return
        if isinstance(body, OrchestrationStarted):
            self._start(body)
        elif isinstance(body, EventRaised):
            self.inbox.deliver(body)
        elif isinstance(body, CancelRequested):
            self._cancel(body)
        elif isinstance(body, CustomStatusSet):
            pass  # the code sets it again as it replays
        elif isinstance(body, ExecutionReset):
            self.scheduler.reset_from(body)
        elif not self.scheduler.complete(event):
            if not isinstance(self.outcome, Failed):
                source = event.source_event_id or 0
                of = self.journal.event(source) if 0 < source < event.event_id else None
                raise divergence.not_awaited(event, of, self._state_text(), self.location())
            return
        self._resume()

    # -- helpers -----------------------------------------------------------------------------------------
    def _check_ending(self, event: HistoryEvent) -> None:
        """A recorded ending must be where the code ended too."""
        reached = outcome_name(self.outcome)
        if reached == ENDINGS[event.kind] or (isinstance(self.outcome, Failed) and reached != "Running"):
            return  # the same ending, or a failure found during replay, which the outcome reports itself
        body = event.body
        if reached == "Running" and isinstance(body, OrchestrationFailed) and body.failure.error_type in IMPOSED_FAILURES:
            self._finish(Failed(body.failure), body)  # the runtime ended the execution where the code waited
            return
        state = f"is still waiting ({self._awaiting_text()})" if reached == "Running" else f"ended with {reached}"
        raise divergence.ending_mismatch(event, state, self.location())


def _woken_by_reset(messages: Sequence[Message]) -> bool:
    """Whether this turn carries a reset's wake-up message, which only its first turn does. The
    history cannot say: a first turn that adds no event leaves the reset's marker last, and a later
    turn replayed from the store (a cache miss) must not schedule the pending work again."""
    return any(isinstance(message.body, ExecutionReset) for message in messages)
