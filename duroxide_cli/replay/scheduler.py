"""From yielded tasks to nodes: match what the code schedules against the history, or record it.

The n-th scheduling action the code produces must equal the n-th recorded scheduling event
(``matching.same_action``); past the recorded ones, a new event is recorded and the work it
asks for is emitted as an action. The scheduler also knows which events still wait for a
completion, which were settled and which were given up (a race loser, a finished execution),
so that the engine can tell an expected late completion from a stray one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..history import (
    COMPLETES,
    SCHEDULING_KINDS,
    ActivityScheduled,
    EventBody,
    ExecutionReset,
    HistoryEvent,
    OrchestrationChained,
    SubOrchestrationScheduled,
    SystemCall,
    TimerCreated,
)
from ..messages import Message
from ..model.tasks import (
    ActivityTask,
    AllTask,
    EventTask,
    RaceTask,
    RetryActivityTask,
    StartOrchestrationTask,
    SubOrchestrationTask,
    SystemCallTask,
    Task,
    TimerTask,
)
from ..payloads import a_type_name
from . import divergence, nodes
from .actions import Action, ScheduleActivity, StartOrchestration, StartTimer
from .inbox import EventInbox
from .journal import Journal
from .matching import same_action
from .retry import RetryActivity

Observe = Callable[[str, HistoryEvent, str], None]
"""(step, event, description): "matched" or "new" for a scheduling event the code produced."""

class TaskScheduler:
    """Implements ``nodes.Scheduler`` for one execution."""

    def __init__(
        self, journal: Journal, inbox: EventInbox, instance_id: str, execution_id: int, observe: Observe, location: Callable[[], str]
    ) -> None:
        self.journal = journal
        self.inbox = inbox
        self.instance_id = instance_id
        self.execution_id = execution_id
        self._observe = observe
        self._location = location
        self._recorded: list[HistoryEvent] = []
        """Recorded scheduling events, in order; the code's n-th action must match the n-th."""
        self._next = 0
        self._claimed: set[int] = set()
        self._pending: dict[int, nodes.Primitive] = {}
        self._settled: set[int] = set()
        self._forgotten: set[int] = set()
        self._actions: list[Action] = []
        self._new_guid: Callable[[], str] = lambda: ""
        self.past_history_is_new = False
        self._reset: ExecutionReset | None = None

    @property
    def now_ms(self) -> int:
        return self.journal.now_ms

    def begin_turn(self, recorded: Sequence[HistoryEvent], actions: list[Action], new_guid: Callable[[], str]) -> None:
        self._recorded.extend(e for e in recorded if e.kind in SCHEDULING_KINDS)
        self._actions = actions
        self._new_guid = new_guid
        self.past_history_is_new = False

    # -- resets -----------------------------------------------------------------------------------
    def reset_from(self, reset: ExecutionReset) -> None:
        """This execution was copied from ``reset.from_execution_id`` up to ``reset.from_event_id``:
        results the children of that execution send it are taken here (see ``screen``)."""
        self._reset = reset

    def continue_past_history(self) -> None:
        """A reset's first turn: the copied history may end in the middle of what the code does, so
        once the recorded scheduling events are used up, what it schedules is new, not a divergence."""
        self.past_history_is_new = True

    def reissue_pending(self) -> None:
        """A reset's first turn: activities and timers the copied history scheduled but never saw
        finish are scheduled again (their old work went with the old execution)."""
        assert self._reset is not None
        for event_id in sorted(self._pending):
            body = self.journal.event(event_id).body
            if event_id > self._reset.from_event_id:
                continue  # scheduled in this turn, already emitted
            if isinstance(body, ActivityScheduled):
                self._actions.append(ScheduleActivity(event_id, body.name, body.input, body.attempt))
            elif isinstance(body, TimerCreated):
                self._actions.append(StartTimer(event_id, body.fire_at_ms))

    # -- tasks to nodes -----------------------------------------------------------------------
    def node_for(self, task: Task) -> nodes.Node:
        """The node for a yielded task (raises NondeterminismError if it does not match the history)."""
        if isinstance(task, ActivityTask):
            return nodes.Activity(self, task.name, task.input)
        if isinstance(task, RetryActivityTask):
            return RetryActivity(self, task.name, task.input, task.retry)
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
            event = self.claim(SystemCall(task.op, self._system_value(task.op)), task.describe())
            assert isinstance(event.body, SystemCall)
            return nodes.Resolved(event.body.value)
        if isinstance(task, AllTask):
            return nodes.All([self.node_for(t) for t in task.tasks], task.return_exceptions)
        if isinstance(task, RaceTask):
            return nodes.Race(self, [self.node_for(t) for t in task.tasks])
        raise TypeError(f"unknown task type {type(task).__name__}")

    def _system_value(self, op: str) -> object:
        if self._next < len(self._recorded):
            return None  # the recorded value is used
        if op == "utc_now":
            return self.journal.now_ms
        if op == "new_guid":
            return self._new_guid()
        raise ValueError(f"unknown system call {op!r}")

    # -- nodes.Scheduler ------------------------------------------------------------------------
    def claim(self, body: EventBody, description: str) -> HistoryEvent:
        """Match ``body`` against the next recorded scheduling event, or record it as new."""
        if self._next < len(self._recorded):
            event = self._recorded[self._next]
            if not same_action(event.body, body):
                raise divergence.mismatch(event, description, self._location())
            self._next += 1
            self._claimed.add(event.event_id)
            self._observe("matched", event, description)
            return event
        if self.journal.replaying:
            if not self.past_history_is_new:
                raise divergence.beyond_history(description, self._location())
            self.journal.go_live()
        if isinstance(body, SubOrchestrationScheduled) and body.instance_id is None:
            child_id = f"{self.instance_id}::{self.execution_id}::{len(self.journal) + 1}"
            body = SubOrchestrationScheduled(body.name, child_id, body.input, body.version)
        event = self.journal.append(body)
        self._recorded.append(event)
        self._next += 1
        self._claimed.add(event.event_id)
        self._observe("new", event, description)
        return event

    def emit(self, action: Action) -> None:
        if not self.journal.replaying:
            self._actions.append(action)

    def await_completion(self, event_id: int, node: nodes.Primitive) -> None:
        self._pending[event_id] = node

    def forget(self, event_id: int) -> None:
        if self._pending.pop(event_id, None) is not None:
            self._forgotten.add(event_id)

    def subscribe(self, node: nodes.EventWait) -> None:
        self.inbox.subscribe(node)

    def unsubscribe(self, node: nodes.EventWait) -> None:
        self.inbox.unsubscribe(node)

    # -- completions ----------------------------------------------------------------------------
    def claimed(self, event_id: int) -> bool:
        """Whether the code has produced the recorded scheduling event ``event_id``."""
        return event_id in self._claimed

    def complete(self, event: HistoryEvent) -> bool:
        """Settle the node waiting for ``event``'s source; False when nothing waits for it."""
        source = event.source_event_id or 0
        node = self._pending.pop(source, None)
        if node is None:
            return False
        self._settled.add(source)
        node.complete(event.body)
        return True

    def screen(self, message: Message) -> tuple[str, bool] | None:
        """Why a completion message cannot be applied, and whether that deserves a warning; None
        when it completes something this execution waits for."""
        body = message.body
        source = getattr(body, "source_event_id", None)
        if message.execution_id not in (None, self.execution_id) and not self._copied_from(message.execution_id, source):
            # work left running by an earlier execution (continue_as_new) finishing late is expected
            earlier = message.execution_id is not None and message.execution_id < self.execution_id
            return f"a completion for execution {message.execution_id}, not {self.execution_id}", not earlier
        if source in self._forgotten:
            return f"the result of event {source}, which is no longer awaited", False
        if source in self._settled:
            return f"a second completion of event {source}", True
        if source not in self._pending:
            return f"a completion of event {source}, which this execution never scheduled", True
        scheduled = self.journal.event(source).kind
        if COMPLETES.get(type(body).__name__) != scheduled:
            return f"{a_type_name(body)} for event {source}, which is {scheduled}", True
        return None

    def _copied_from(self, execution_id: int | None, source: int | None) -> bool:
        """A completion for the execution this one was reset from, of an event it copied (a child
        started before the reset point reports to the execution that started it)."""
        reset = self._reset
        return reset is not None and execution_id == reset.from_execution_id and source is not None and source <= reset.from_event_id

    def was_given_up(self, message: Message) -> bool:
        """A late completion of work this execution stopped waiting for (expected, not a warning)."""
        source = getattr(message.body, "source_event_id", None)
        return source in self._forgotten and message.execution_id in (None, self.execution_id)

    def drop_all(self) -> None:
        """The execution ended: stop waiting for everything (activities are told to cancel)."""
        for node in list(self._pending.values()):
            node.drop(self)
        self.inbox.close_waits()
