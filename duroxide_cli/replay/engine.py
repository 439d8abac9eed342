"""The replay engine: history + new messages + generator -> new events, actions and an outcome.

Pure: no I/O, no clock, no logging. The turn's time and GUID source are passed in.

How a turn works. Recorded events are applied in history order with ``is_replaying`` true;
then each new message is checked, recorded as an event and applied. Applying a completion
settles the node waiting for it; when the node the generator yielded has settled, the
generator is resumed at once, so the code sees completions in exactly the order the history
holds them. Whatever the code schedules is matched positionally against the recorded
scheduling events (kind and content); once those are used up, new events are created and the
work for them is emitted as actions.

A ``Replayer`` keeps its generator between turns, so the runtime can cache it and feed only
new messages; ``run_turn`` on a fresh one with the whole history is a full replay.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Sequence
from typing import Any

from ..errors import NondeterminismError
from ..history import (
    SCHEDULING_KINDS,
    TERMINAL_KINDS,
    CancelRequested,
    CustomStatusSet,
    EventBody,
    EventRaised,
    FailureDetails,
    HistoryEvent,
    OrchestrationCancelled,
    OrchestrationChained,
    OrchestrationCompleted,
    OrchestrationFailed,
    OrchestrationStarted,
    SubOrchestrationScheduled,
    SystemCall,
)
from ..history import ContinuedAsNew as ContinuedAsNewEvent
from ..messages import Message
from ..model.context import OrchestrationContext
from ..model.registry import takes_input
from ..model.tasks import (
    ActivityTask,
    AllTask,
    ContinueAsNewTask,
    EventTask,
    RaceTask,
    RetryActivityTask,
    StartOrchestrationTask,
    SubOrchestrationTask,
    SystemCallTask,
    Task,
    TimerTask,
)
from ..payloads import normalize
from . import nodes
from .actions import (
    Action,
    Cancelled,
    Completed,
    Continue,
    ContinuedAsNew,
    DroppedMessage,
    Failed,
    Outcome,
    StartOrchestration,
    TurnResult,
)
from .matching import describe_event, describe_value, same_action

OrchestrationFunction = Callable[..., Generator[Any, Any, Any]]


class _Divergence(Exception):
    """Internal: carries a NondeterminismError out of user-code frames."""

    def __init__(self, error: NondeterminismError):
        self.error = error


class _NullBackend:
    """Used while closing a generator: user ``finally`` blocks can schedule nothing."""

    is_replaying = True

    def trace(self, level: str, message: str) -> None:
        pass

    def set_custom_status(self, value: Any) -> None:
        pass


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
        self.history: list[HistoryEvent] = []
        self.now_ms = 0
        self.name = ""
        self.version = ""
        self._recorded: list[HistoryEvent] = []  # scheduling events, in order
        self._next_recorded = 0
        self._claimed: set[int] = set()
        self._pending: dict[int, nodes.Primitive] = {}
        self._settled: set[int] = set()
        self._forgotten: set[int] = set()
        self._buffered: dict[str, deque[EventRaised]] = {}
        self._waiters: dict[str, deque[nodes.EventWait]] = {}
        self._generator: Generator[Any, Any, Any] | None = None
        self._context: OrchestrationContext | None = None
        self._awaiting: nodes.Node | None = None
        self._replaying = True
        self._custom_status: Any = None
        self._result: TurnResult = TurnResult()
        self._guid: Callable[[], str] = lambda: ""
        self._last_location = "<the orchestration's start>"
        self.outcome: Outcome = Continue()
        self._current: HistoryEvent | None = None  # the event being applied
        self.divergence: NondeterminismError | None = None
        """Set when the code diverged from the history (the outcome is then Failed)."""

    # -- ContextBackend -----------------------------------------------------------------------
    @property
    def is_replaying(self) -> bool:
        return self._replaying

    def trace(self, level: str, message: str) -> None:
        if not self._replaying:
            self._result.traces.append((level, message))

    def set_custom_status(self, value: Any) -> None:
        if value != self._custom_status:
            self._custom_status = value
            if not self._replaying:
                self._append(CustomStatusSet(value))

    # -- the turn -----------------------------------------------------------------------------
    @property
    def event_count(self) -> int:
        return len(self.history)

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
        self._guid = new_guid
        self._replaying = True
        self._recorded.extend(e for e in recorded if e.kind in SCHEDULING_KINDS)
        self.history.extend(recorded)
        try:
            for event in recorded:
                self.now_ms = event.timestamp_ms
                self._current = event
                self._apply(event)
        except _Divergence as divergence:
            self._diverged(divergence.error, now_ms)
        self._replaying = False
        self.now_ms = now_ms
        if recorded and self.finished and self.history[-1].kind not in TERMINAL_KINDS:
            self._record_replayed_ending()
        if not self.history:
            # the start goes first, even behind an event queued before it (one raised while the
            # previous execution was committing its continue-as-new)
            messages = sorted(messages, key=lambda m: not isinstance(m.body, OrchestrationStarted))
        for message in messages:  # after a divergence the execution has ended: each one is dropped
            try:
                body = self._accept(message)
                if body is not None:
                    self._current = self._append(body)
                    self._apply(self._current)
            except _Divergence as divergence:
                self._diverged(divergence.error, now_ms)
        result.custom_status = self._custom_status
        result.outcome = self.outcome
        return result

    def _diverged(self, error: NondeterminismError, now_ms: int) -> None:
        if self._current is not None:  # the code is still suspended where it diverged: a debugger can look
            self._observe("diverged", self._current, str(error))
        self._replaying = False
        self.now_ms = now_ms
        self.divergence = error
        # The code may have ended during replay before the history showed it diverged; that
        # ending was never recorded, and the divergence is what the instance fails with.
        self.outcome = Continue()
        self._fail(FailureDetails("NondeterminismError", str(error), ""))

    def _record_replayed_ending(self) -> None:
        """The code ended while replaying, where the history shows the execution still running."""
        if isinstance(self.outcome, Failed):
            self._append(OrchestrationFailed(self.outcome.failure))  # the code raised: a new failure
            return
        error = NondeterminismError(
            f"no ending after {describe_event(self.history[-1])}",
            f"ended with {type(self.outcome).__name__}",
            self.location(),
            "the code changed since the history was recorded",
        )
        self._diverged(error, self.now_ms)

    def close(self) -> None:
        """Close the generator; its ``finally`` blocks run against a context that does nothing."""
        if self._generator is not None:
            if self._context is not None:
                self._context._backend = _NullBackend()
            try:
                self._generator.close()
            except BaseException:  # noqa: BLE001 - user code misbehaving while closing
                pass
            self._generator = None

    # -- message intake ------------------------------------------------------------------------
    def _accept(self, message: Message) -> EventBody | None:
        body = message.body
        source = getattr(body, "source_event_id", None)
        if self.finished:
            if isinstance(body, (EventRaised, CancelRequested)) and isinstance(self.outcome, ContinuedAsNew):
                # arrived after continue_as_new in the same turn: it is for the next execution
                o = self.outcome
                self.outcome = ContinuedAsNew(o.input, o.version, o.carried_events + (body,))
                return None
            # work still in flight when the execution ended (a race loser, say) finishing late is expected
            expected = source in self._forgotten and message.execution_id in (None, self.execution_id)
            return self._drop(message, f"the execution has already ended ({type(self.outcome).__name__})", warn=not expected)
        if isinstance(body, OrchestrationStarted):
            if self.history or message.execution_id not in (None, self.execution_id):
                return self._drop(message, "a duplicate start message")
            return body
        if isinstance(body, (EventRaised, CancelRequested)):
            return body
        if message.execution_id not in (None, self.execution_id):
            # work left running by an earlier execution (continue_as_new) finishing late is expected
            earlier = message.execution_id is not None and message.execution_id < self.execution_id
            return self._drop(
                message, f"a completion for execution {message.execution_id}, not {self.execution_id}", warn=not earlier
            )
        if source in self._forgotten:
            return self._drop(message, f"the result of event {source}, which is no longer awaited", warn=False)
        if source in self._settled:
            return self._drop(message, f"a second completion of event {source}")
        if source not in self._pending:
            return self._drop(message, f"a completion of event {source}, which this execution never scheduled")
        scheduled = self._event(source).kind
        if _COMPLETES.get(type(body).__name__) != scheduled:
            return self._drop(message, f"a {type(body).__name__} for event {source}, which is {scheduled}")
        return body

    def _drop(self, message: Message, reason: str, warn: bool = True) -> EventBody | None:
        """Report ``message`` as not applied; returns None (nothing to apply)."""
        self._result.dropped.append(DroppedMessage(message, reason, warn))
        return None

    # -- applying events -------------------------------------------------------------------------
    def _apply(self, event: HistoryEvent) -> None:
        body = event.body
        if event.kind in SCHEDULING_KINDS:
            if event.event_id not in self._claimed:
                self._diverge_missing(event)
            return
        self._observe("applied", event, "")
        if isinstance(body, OrchestrationStarted):
            self._start(body)
        elif isinstance(body, EventRaised):
            self._deliver(body)
        elif isinstance(body, CancelRequested):
            self._cancel(body.reason)
        elif isinstance(body, CustomStatusSet):
            pass  # the code sets it again as it replays
        elif event.source_event_id is not None:
            node = self._pending.pop(event.source_event_id, None)
            if node is None:
                self._diverge_unawaited(event)
                return
            self._settled.add(event.source_event_id)
            node.complete(body)
        elif isinstance(body, (OrchestrationCompleted, OrchestrationFailed, OrchestrationCancelled, ContinuedAsNewEvent)):
            self._check_terminal(event)
            return
        else:
            raise ValueError(f"unknown history event kind {event.kind!r}")
        self._resume()

    def _start(self, body: OrchestrationStarted) -> None:
        self.name, self.version = body.name, body.version or ""
        self._context = OrchestrationContext(self.instance_id, self.execution_id, self.name, self.version, self)
        try:
            if takes_input(self.fn):
                self._generator = self.fn(self._context, body.input)
            else:
                self._generator = self.fn(self._context)
        except Exception as error:  # noqa: BLE001 - user code
            self._fail(FailureDetails.from_exception(error))
            return
        self._step(lambda gen: gen.send(None))

    def _resume(self) -> None:
        node = self._awaiting
        if node is None or not node.done or self.finished:
            return
        self._awaiting = None
        self._step(_outcome_of(node))

    def _step(self, advance: Callable[[Generator[Any, Any, Any]], Any]) -> None:
        """Run the code until it waits for something unfinished, ends or fails."""
        while True:
            assert self._generator is not None
            try:
                yielded = advance(self._generator)
            except StopIteration as stop:
                self._complete(stop.value)
                return
            except _Divergence:
                raise
            except Exception as error:  # noqa: BLE001 - user code failed the orchestration
                self._fail(FailureDetails.from_exception(error))
                return
            node = self._activate(yielded)
            if node is None:
                return
            if not node.done:
                self._awaiting = node
                return
            advance = _outcome_of(node)

    def _activate(self, task: Any) -> nodes.Node | None:
        self._last_location = self.location()
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
        try:
            return self._node(task)
        except NondeterminismError as error:
            raise _Divergence(error) from None

    def _node(self, task: Task) -> nodes.Node:
        if isinstance(task, ActivityTask):
            return nodes.Activity(self, task.name, task.input)
        if isinstance(task, RetryActivityTask):
            return nodes.RetryActivity(self, task.name, task.input, task.retry)
        if isinstance(task, TimerTask):
            return nodes.Timer(self, task.delay_ms)
        if isinstance(task, EventTask):
            return nodes.EventWait(self, task.name)
        if isinstance(task, SubOrchestrationTask):
            return nodes.SubOrchestration(self, task.name, task.instance_id, task.input, task.version)
        if isinstance(task, StartOrchestrationTask):
            self.claim(OrchestrationChained(task.name, task.instance_id, task.input, task.version), task.describe())
            self.emit(StartOrchestration(task.name, task.instance_id, task.input, task.version))
            return nodes.Resolved(None)
        if isinstance(task, SystemCallTask):
            value = self._system_value(task.op)
            event = self.claim(SystemCall(task.op, value), task.describe())
            assert isinstance(event.body, SystemCall)
            return nodes.Resolved(event.body.value)
        if isinstance(task, AllTask):
            return nodes.All([self._node(t) for t in task.tasks], task.return_exceptions)
        if isinstance(task, RaceTask):
            return nodes.Race(self, [self._node(t) for t in task.tasks])
        raise TypeError(f"unknown task type {type(task).__name__}")

    def _system_value(self, op: str) -> Any:
        if self._next_recorded < len(self._recorded):
            return None  # the recorded value is used
        if op == "utc_now":
            return self.now_ms
        if op == "new_guid":
            return self._guid()
        raise ValueError(f"unknown system call {op!r}")

    # -- Scheduler (for nodes) ------------------------------------------------------------------------
    def claim(self, body: EventBody, description: str) -> HistoryEvent:
        """Match ``body`` against the next recorded scheduling event, or record it as new."""
        if self._next_recorded < len(self._recorded):
            event = self._recorded[self._next_recorded]
            if not same_action(event.body, body):
                raise NondeterminismError(
                    describe_event(event), description, self.location(), "the code changed since the history was recorded"
                )
            self._next_recorded += 1
            self._claimed.add(event.event_id)
            self._observe("matched", event, description)
            return event
        if self._replaying:
            raise NondeterminismError(
                "no further scheduling event", description, self.location(), "the code schedules more than it did before"
            )
        if isinstance(body, SubOrchestrationScheduled) and body.instance_id is None:
            body = SubOrchestrationScheduled(
                body.name, f"{self.instance_id}::{self.execution_id}::{len(self.history) + 1}", body.input, body.version
            )
        event = self._append(body)
        self._recorded.append(event)
        self._next_recorded += 1
        self._claimed.add(event.event_id)
        self._observe("new", event, description)
        return event

    def emit(self, action: Action) -> None:
        if not self._replaying:
            self._result.actions.append(action)

    def await_completion(self, event_id: int, node: nodes.Primitive) -> None:
        self._pending[event_id] = node

    def forget(self, event_id: int) -> None:
        if self._pending.pop(event_id, None) is not None:
            self._forgotten.add(event_id)

    def subscribe(self, node: nodes.EventWait) -> None:
        buffered = self._buffered.get(node.name)
        if buffered:
            node.settle(buffered.popleft().data)
        else:
            self._waiters.setdefault(node.name, deque()).append(node)

    def unsubscribe(self, node: nodes.EventWait) -> None:
        waiters = self._waiters.get(node.name)
        if waiters and node in waiters:
            waiters.remove(node)

    def _deliver(self, body: EventRaised) -> None:
        waiters = self._waiters.get(body.name)
        if waiters:
            waiters.popleft().settle(body.data)
        else:
            self._buffered.setdefault(body.name, deque()).append(body)

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

    def _cancel(self, reason: str | None) -> None:
        self._finish(Cancelled(reason), OrchestrationCancelled(reason))

    def _continue_as_new(self, task: ContinueAsNewTask) -> None:
        carried = tuple(event for queue in self._buffered.values() for event in queue)
        self._finish(ContinuedAsNew(task.input, task.version, carried), ContinuedAsNewEvent(task.input, task.version))

    def _finish(self, outcome: Outcome, event: EventBody) -> None:
        if self.finished:
            return
        self.outcome = outcome
        for node in list(self._pending.values()):
            node.drop(self)
        for waiters in self._waiters.values():
            waiters.clear()
        if not self._replaying:
            self._append(event)
        self.close()

    def _check_terminal(self, event: HistoryEvent) -> None:
        """A recorded ending must be where the code ended too."""
        expected = {
            "OrchestrationCompleted": Completed,
            "OrchestrationFailed": Failed,
            "OrchestrationCancelled": Cancelled,
            "ContinuedAsNew": ContinuedAsNew,
        }[event.kind]
        if isinstance(self.outcome, expected):
            return
        if isinstance(self.outcome, Continue):
            raise _Divergence(
                NondeterminismError(describe_event(event), f"is still waiting ({self._awaiting_text()})", self.location())
            )
        if isinstance(self.outcome, Failed) and not isinstance(self.outcome, expected):
            return  # a failure found during replay is reported by the outcome itself
        raise _Divergence(
            NondeterminismError(describe_event(event), f"ended with {type(self.outcome).__name__}", self.location())
        )

    # -- helpers -----------------------------------------------------------------------------------------
    def _append(self, body: EventBody) -> HistoryEvent:
        event = HistoryEvent(len(self.history) + 1, self.now_ms, body)
        self.history.append(event)
        self._result.new_events.append(event)
        return event

    def _event(self, event_id: int) -> HistoryEvent:
        return self.history[event_id - 1]

    def _diverge_missing(self, event: HistoryEvent) -> None:
        if isinstance(self.outcome, Failed):
            return
        raise _Divergence(
            NondeterminismError(
                describe_event(event),
                "did not schedule it" + (f" ({self._awaiting_text()})" if not self.finished else f" (it ended with {type(self.outcome).__name__})"),
                self.location(),
                "the code changed since the history was recorded",
            )
        )

    def _diverge_unawaited(self, event: HistoryEvent) -> None:
        """A recorded completion of something the code does not (or no longer) wait for."""
        if isinstance(self.outcome, Failed):
            return
        source = event.source_event_id or 0
        of = describe_event(self._event(source)) if 0 < source < event.event_id else f"unknown event {source}"
        state = f"it ended with {type(self.outcome).__name__}" if self.finished else self._awaiting_text()
        raise _Divergence(
            NondeterminismError(
                f"{event.kind} (event {event.event_id}) of {of}",
                f"does not wait for it ({state})",
                self.location(),
                "the code changed since the history was recorded",
            )
        )

    def _awaiting_text(self) -> str:
        return "waiting for an earlier task" if self._awaiting is not None else "not waiting for anything"

    def _observe(self, step: str, event: HistoryEvent, description: str) -> None:
        if self.observer is not None:
            self.observer(self, step, event, description)

    def location(self) -> str:
        """``file.py:LINE`` where the user code is suspended (innermost generator)."""
        frame = self.frame()
        if frame is None:
            return self._last_location  # the code has ended: its last yield
        return f"{frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno}"

    def frame(self) -> Any:
        """The innermost suspended frame of the user's generator, or None."""
        gen: Any = self._generator
        frame = None
        while gen is not None and getattr(gen, "gi_frame", None) is not None:
            frame = gen.gi_frame
            gen = getattr(gen, "gi_yieldfrom", None)
        return frame


_COMPLETES = {
    "ActivityCompleted": "ActivityScheduled",
    "ActivityFailed": "ActivityScheduled",
    "TimerFired": "TimerCreated",
    "SubOrchestrationCompleted": "SubOrchestrationScheduled",
    "SubOrchestrationFailed": "SubOrchestrationScheduled",
}
"""Which scheduling event each completion kind completes."""


def _outcome_of(node: nodes.Node) -> Callable[[Generator[Any, Any, Any]], Any]:
    """How to hand a settled node's result to the generator: throw its error or send its value."""
    error, value = node.error, node.value
    if error is not None:
        return lambda gen: gen.throw(error)
    return lambda gen: gen.send(value)
