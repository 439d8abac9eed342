"""The turn driver: history + new messages + generator -> new events, actions and an outcome.

Pure: no I/O, no clock, no logging. The turn's time and GUID source are passed in.

How a turn works. Recorded events are applied in history order with ``is_replaying`` true;
then each new message is checked, recorded as an event and applied. Applying a completion
settles the node waiting for it; when the node the generator yielded has settled, the
generator is resumed at once, so the code sees completions in exactly the order the history
holds them. What the code yields becomes nodes through the ``TaskScheduler`` (which matches it
against the recorded scheduling events); external events wait in the ``EventInbox``.

Divergence is signalled one way: the engine's own frames raise ``NondeterminismError`` (user
code never sees it), and ``_apply_event`` catches it around each applied event, where the
execution fails with it while the code is still suspended at the diverging yield.

A ``Replayer`` keeps its generator between turns, so the runtime can cache it and feed only
new messages; ``run_turn`` on a fresh one with the whole history is a full replay.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .. import errors
from ..errors import NondeterminismError
from ..history import (
    ENDINGS,
    SCHEDULING_KINDS,
    TERMINAL_KINDS,
    CancelRequested,
    CustomStatusSet,
    EventBody,
    EventRaised,
    ExecutionReset,
    FailureDetails,
    HistoryEvent,
    OrchestrationCancelled,
    OrchestrationCompleted,
    OrchestrationFailed,
    OrchestrationStarted,
)
from ..history import ContinuedAsNew as ContinuedAsNewEvent
from ..messages import Message
from ..model.context import OrchestrationContext
from ..model.tasks import ContinueAsNewTask, Task
from ..payloads import normalize
from . import divergence, nodes
from .actions import (
    Cancelled,
    Completed,
    Continue,
    ContinuedAsNew,
    Failed,
    Outcome,
    TurnResult,
    outcome_name,
)
from .code import Advance, OrchestrationFunction, Returned, Step, UserCode, Yielded
from .endings import cancelled_by
from .inbox import EventInbox
from .intake import accept, first_turn_order
from .journal import Journal
from .matching import describe_value
from .scheduler import TaskScheduler

StepObserver = Callable[["Replayer", str, HistoryEvent, str], None]
"""Called as (replayer, step, event, description). Steps: "matched" (the code produced a
recorded scheduling event; description says what the code did), "new" (the code produced a
new one), "applied" (a recorded or new non-scheduling event was applied, description empty),
"diverged" (while applying ``event`` the code left the history; description is the error, and
the generator is still suspended, so ``replayer.frame()`` is live)."""


class Replayer:
    """The live state of one execution of one orchestration."""

    def __init__(self, fn: OrchestrationFunction, instance_id: str, execution_id: int, observer: StepObserver | None = None):
        self.fn = fn
        self.instance_id = instance_id
        self.execution_id = execution_id
        self.observer = observer
        self.name = ""
        self.version = ""
        self.journal = Journal()
        self.inbox = EventInbox()
        self.scheduler = TaskScheduler(
            self.journal, self.inbox, instance_id, execution_id, self._observe, self.location
        )
        self.code = UserCode(fn)
        self._awaiting: nodes.Node | None = None
        self._cancel_requested = False
        self._custom_status: Any = None
        self._result = TurnResult()
        self._current: HistoryEvent | None = None  # the event being applied
        self.outcome: Outcome = Continue()
        self.divergence: NondeterminismError | None = None
        """Set when the code diverged from the history (the outcome is then Failed)."""

    # -- ContextBackend -----------------------------------------------------------------------
    @property
    def is_replaying(self) -> bool:
        return self.journal.replaying

    def trace(self, level: str, message: str) -> None:
        if not self.journal.replaying:
            self._result.traces.append((level, message))

    def set_custom_status(self, value: Any) -> None:
        if value != self._custom_status:
            self._custom_status = value
            if not self.journal.replaying:
                self.journal.append(CustomStatusSet(value))

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

    @property
    def finished(self) -> bool:
        return not isinstance(self.outcome, Continue)

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
        if reset is not None:  # the first turn of an execution made by a reset or a fork
            self.scheduler.reset_from(reset)
            self.scheduler.continue_past_history()
        for event in recorded:
            if self.journal.replaying:
                self.journal.now_ms = event.timestamp_ms
            self._apply_event(event)
            if self.divergence is not None:
                break
        if reset is not None and not self.finished and self.divergence is None:
            self.scheduler.reissue_pending()
        self.journal.go_live()
        if self.divergence is None and recorded and self.finished and self.journal.events[-1].kind not in TERMINAL_KINDS:
            self._record_replayed_ending()
        if self.divergence is not None:
            self._fail_diverged(messages)
            messages = []
        if first_turn or reset is not None:
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

    def close(self) -> None:
        """Close the generator; its ``finally`` blocks run against a context that does nothing."""
        self.code.close()

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

    def _start(self, body: OrchestrationStarted) -> None:
        self.name, self.version = body.name, body.version or ""
        context = OrchestrationContext(self.instance_id, self.execution_id, self.name, self.version, self)
        self._run(self.code.start(context, body.input))

    def _resume(self) -> None:
        node = self._awaiting
        if node is None or not node.done or self.finished:
            return
        self._awaiting = None
        self._run(self.code.advance(_outcome_of(node)))

    def _run(self, step: Step) -> None:
        """Go on from ``step`` until the code waits for something unfinished, ends or fails."""
        while isinstance(step, Yielded):
            node = self._activate(step.value)
            if node is None:
                return
            if not node.done:
                self._awaiting = node
                return
            step = self.code.advance(_outcome_of(node))
        if isinstance(step, Returned):
            self._complete(step.value)
        elif isinstance(step.error, errors.OrchestrationCancelled):
            self._finish(Cancelled(step.error.reason, step.failure), OrchestrationCancelled(step.error.reason, step.failure))
        else:
            self._fail(step.failure)

    def _activate(self, task: Any) -> nodes.Node | None:
        """The node for what the code yielded, with buffered events handed to its waits."""
        if isinstance(task, ContinueAsNewTask):
            self._continue_as_new(task)
            return None
        if not isinstance(task, Task):
            self._fail(
                FailureDetails(
                    "TypeError",
                    f"the orchestration yielded {describe_value(task)} at {self.location()}; "
                    "yield tasks from ctx (ctx.schedule_activity(...), ctx.schedule_timer(...), ...)",
                )
            )
            return None
        node = self.scheduler.node_for(task)
        self.inbox.deliver_buffered()
        return node

    # -- endings ----------------------------------------------------------------------------------------
    def _complete(self, output: Any) -> None:
        try:
            value = normalize(output, "the orchestration's output")
        except TypeError as error:
            self._fail(FailureDetails.from_exception(error))
            return
        self._finish(Completed(value), OrchestrationCompleted(value))

    def _fail(self, failure: FailureDetails) -> None:
        self._finish(Failed(failure), OrchestrationFailed(failure))

    def _cancel(self, request: CancelRequested) -> None:
        """Terminate at once, or raise ``OrchestrationCancelled`` at the code's pending yield (once:
        a second cancel while the code compensates changes nothing)."""
        if request.terminate:
            outcome = cancelled_by(request)
            self._finish(outcome, OrchestrationCancelled(request.reason, outcome.failure))
            return
        node = self._awaiting
        if self._cancel_requested or node is None:
            return
        self._cancel_requested = True
        self._awaiting = None
        node.drop(self.scheduler)  # what it waited for is cancelled: activities see is_cancelled(), children are cancelled
        error = errors.OrchestrationCancelled(self.instance_id, request.reason)
        self._run(self.code.advance(lambda gen: gen.throw(error)))

    def _continue_as_new(self, task: ContinueAsNewTask) -> None:
        carried = self.inbox.undelivered()
        self._finish(ContinuedAsNew(task.input, task.version, carried), ContinuedAsNewEvent(task.input, task.version))

    def _finish(self, outcome: Outcome, event: EventBody) -> None:
        if self.finished:
            return
        self.outcome = outcome
        self.scheduler.drop_all()
        if self.journal.replaying and self.scheduler.past_history_is_new:
            self.journal.go_live()  # a reset's new code ends within the copied history: a new ending
        if not self.journal.replaying:
            self.journal.append(event)
        self.close()

    def _check_ending(self, event: HistoryEvent) -> None:
        """A recorded ending must be where the code ended too."""
        reached = outcome_name(self.outcome)
        if reached == ENDINGS[event.kind] or (isinstance(self.outcome, Failed) and reached != "Running"):
            return  # the same ending, or a failure found during replay, which the outcome reports itself
        state = f"is still waiting ({self._awaiting_text()})" if reached == "Running" else f"ended with {reached}"
        raise divergence.ending_mismatch(event, state, self.location())

    # -- helpers -----------------------------------------------------------------------------------------
    def _state_text(self) -> str:
        return f"it ended with {type(self.outcome).__name__}" if self.finished else self._awaiting_text()

    def _awaiting_text(self) -> str:
        return "waiting for an earlier task" if self._awaiting is not None else "not waiting for anything"

    def _observe(self, step: str, event: HistoryEvent, description: str) -> None:
        if self.observer is not None:
            self.observer(self, step, event, description)

    def location(self) -> str:
        """``file.py:LINE`` where the user code is suspended (innermost generator)."""
        return self.code.location()

    def frame(self) -> Any:
        """The innermost suspended frame of the user's generator, or None."""
        return self.code.frame()


def _outcome_of(node: nodes.Node) -> Advance:
    """How to hand a settled node's result to the generator: throw its error or send its value."""
    error, value = node.error, node.value
    if error is not None:
        return lambda gen: gen.throw(error)
    return lambda gen: gen.send(value)
