"""Driving an execution's code: start it, resume it with what it waited for, cancel it, end it.

``CodeDriver`` holds one execution's state -- the journal (its history), the scheduler (the
nodes its yields became and the work they ask for), the inbox (external events), the user's
generator and the node it waits for, and the outcome -- and moves the code along as events
settle nodes. Which events those are, in which order, and what a divergence does is the turn's
business (``engine.Replayer``). It is also the code's ``ContextBackend``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import errors
from ..errors import NondeterminismError
from ..history import (
    CancelRequested,
    CustomStatusSet,
    EventBody,
    FailureDetails,
    HistoryEvent,
    OrchestrationCancelled,
    OrchestrationCompleted,
    OrchestrationFailed,
    OrchestrationStarted,
)
from ..history import ContinuedAsNew as ContinuedAsNewEvent
from ..model.context import OrchestrationContext
from ..model.tasks import ContinueAsNewTask, Task
from ..payloads import normalize
from . import nodes
from .actions import Cancelled, Completed, Continue, ContinuedAsNew, Failed, Outcome, TurnResult
from .code import Advance, OrchestrationFunction, Returned, Step, UserCode, Yielded
from .endings import cancelled_by
from .inbox import EventInbox
from .journal import Journal
from .matching import describe_value
from .scheduler import TaskScheduler

StepObserver = Callable[["CodeDriver", str, HistoryEvent, str], None]
"""Called as (replayer, step, event, description). Steps: "matched" (the code produced a
recorded scheduling event; description says what the code did), "new" (the code produced a
new one), "applied" (a recorded or new non-scheduling event was applied, description empty),
"diverged" (while applying ``event`` the code left the history; description is the error, and
the generator is still suspended, so ``replayer.frame()`` is live)."""


class CodeDriver:
    """One execution's code and what it waits for: started, resumed with settled results,
    cancelled and ended here; ``Replayer`` feeds it a turn's events."""

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

    @property
    def finished(self) -> bool:
        return not isinstance(self.outcome, Continue)

    def _observe(self, step: str, event: HistoryEvent, description: str) -> None:
        if self.observer is not None:
            self.observer(self, step, event, description)

    def close(self) -> None:
        """Close the generator; its ``finally`` blocks run against a context that does nothing."""
        self.code.close()


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

    def _state_text(self) -> str:
        return f"it ended with {type(self.outcome).__name__}" if self.finished else self._awaiting_text()

    def _awaiting_text(self) -> str:
        return "waiting for an earlier task" if self._awaiting is not None else "not waiting for anything"


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
