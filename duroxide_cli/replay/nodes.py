"""Live task nodes: a yielded descriptor becomes a tree of nodes that events resolve.

A primitive node is bound to one scheduling event and resolved by its completion. Composite
nodes (all, race, retry) combine children. When a node settles it tells its parent; when the
root settles the engine resumes the generator. Dropping a node (a race loser, a finished
execution) cancels what it still waits for.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ActivityError, SubOrchestrationError
from ..history import (
    ActivityCompleted,
    ActivityFailed,
    ActivityScheduled,
    EventSubscribed,
    SubOrchestrationCompleted,
    SubOrchestrationFailed,
    SubOrchestrationScheduled,
    TimerCreated,
)
from ..model.tasks import RaceResult, payload_text
from .actions import CancelActivity, CancelSubOrchestration, ScheduleActivity, StartSubOrchestration, StartTimer

if TYPE_CHECKING:
    from ..history import EventBody, HistoryEvent
    from .actions import Action


class Scheduler(Protocol):
    """What nodes need from the engine (``scheduler.TaskScheduler`` implements it)."""

    @property
    def now_ms(self) -> int: ...

    instance_id: str
    execution_id: int

    def claim(self, body: EventBody, description: str) -> HistoryEvent: ...

    def emit(self, action: Action) -> None: ...

    def await_completion(self, event_id: int, node: Primitive) -> None: ...

    def forget(self, event_id: int) -> None: ...

    def subscribe(self, node: EventWait) -> None: ...

    def unsubscribe(self, node: EventWait) -> None: ...


class Node:
    """Something the code waits for."""

    __slots__ = ("parent", "done", "value", "error")

    def __init__(self) -> None:
        self.parent: Node | None = None
        self.done = False
        self.value: Any = None
        self.error: BaseException | None = None

    def settle(self, value: Any = None, error: BaseException | None = None) -> None:
        if self.done:
            return
        self.done, self.value, self.error = True, value, error
        if self.parent is not None:
            self.parent.child_settled(self)

    def child_settled(self, child: Node) -> None:  # composites override
        raise AssertionError("a primitive node has no children")

    def drop(self, engine: Scheduler) -> None:
        """Stop waiting: the result is no longer wanted."""


class Resolved(Node):
    """A task that is done the moment it is yielded (system calls, fire-and-forget starts)."""

    __slots__ = ()

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.done, self.value = True, value


class Primitive(Node, abc.ABC):
    """Bound to one scheduling event; resolved by its completion."""

    __slots__ = ("event_id",)

    def __init__(self, event_id: int) -> None:
        super().__init__()
        self.event_id = event_id

    @abc.abstractmethod
    def complete(self, body: EventBody) -> None:
        """Settle with the completion ``body`` of this node's event."""

    def drop(self, engine: Scheduler) -> None:
        if not self.done:
            engine.forget(self.event_id)
            self.done = True


class Activity(Primitive):
    __slots__ = ("name",)

    def __init__(self, engine: Scheduler, name: str, input: Any, attempt: int = 1, retrying: bool = False) -> None:
        what = f"scheduled activity '{name}' with input {payload_text(input)}" + (f" (attempt {attempt})" if retrying else "")
        event = engine.claim(ActivityScheduled(name, input, attempt), what)
        super().__init__(event.event_id)
        self.name = name
        engine.emit(ScheduleActivity(event.event_id, name, input, attempt))
        engine.await_completion(event.event_id, self)

    def complete(self, body: EventBody) -> None:
        if isinstance(body, ActivityCompleted):
            self.settle(body.result)
        else:
            assert isinstance(body, ActivityFailed)
            f = body.failure
            self.settle(error=ActivityError(self.name, f.error_type, f.message, f.details))

    def drop(self, engine: Scheduler) -> None:
        if not self.done:
            engine.emit(CancelActivity(self.event_id))
        super().drop(engine)


class Timer(Primitive):
    __slots__ = ()

    def __init__(self, engine: Scheduler, delay_ms: int, what: str | None = None) -> None:
        event = engine.claim(TimerCreated(engine.now_ms + delay_ms), what or f"created a timer of {delay_ms} ms")
        super().__init__(event.event_id)
        assert isinstance(event.body, TimerCreated)
        engine.emit(StartTimer(event.event_id, event.body.fire_at_ms))
        engine.await_completion(event.event_id, self)

    def complete(self, body: EventBody) -> None:
        self.settle(None)


class EventWait(Primitive):
    __slots__ = ("name",)

    def __init__(self, engine: Scheduler, name: str) -> None:
        event = engine.claim(EventSubscribed(name), f"waited for event '{name}'")
        super().__init__(event.event_id)
        self.name = name
        engine.subscribe(self)

    def complete(self, body: EventBody) -> None:  # events are delivered by name, not by id
        raise AssertionError("event waits are settled by delivery")

    def drop(self, engine: Scheduler) -> None:
        if not self.done:
            engine.unsubscribe(self)
            self.done = True


class SubOrchestration(Primitive):
    __slots__ = ("name", "child_id")

    def __init__(self, engine: Scheduler, name: str, instance_id: str | None, input: Any, version: str | None) -> None:
        # instance_id None: the engine derives it from the new event's id (a recorded one keeps its id)
        body = SubOrchestrationScheduled(name, instance_id, input, version)  # type: ignore[arg-type]
        event = engine.claim(body, f"scheduled sub-orchestration '{name}' with input {payload_text(input)}")
        super().__init__(event.event_id)
        assert isinstance(event.body, SubOrchestrationScheduled)
        self.name = name
        self.child_id = event.body.instance_id
        engine.emit(StartSubOrchestration(event.event_id, name, self.child_id, input, version))
        engine.await_completion(event.event_id, self)

    def complete(self, body: EventBody) -> None:
        if isinstance(body, SubOrchestrationCompleted):
            self.settle(body.output)
        else:
            assert isinstance(body, SubOrchestrationFailed)
            f = body.failure
            self.settle(error=SubOrchestrationError(self.name, self.child_id, f.error_type, f.message, f.details))

    def drop(self, engine: Scheduler) -> None:
        if not self.done:
            engine.emit(CancelSubOrchestration(self.child_id, "the parent no longer waits for it"))
        super().drop(engine)


class All(Node):
    __slots__ = ("children", "return_exceptions", "remaining")

    def __init__(self, children: list[Node], return_exceptions: bool) -> None:
        super().__init__()
        self.children = children
        self.return_exceptions = return_exceptions
        self.remaining = sum(1 for c in children if not c.done)
        for child in children:
            child.parent = self
        self._maybe_settle()

    def child_settled(self, child: Node) -> None:
        self.remaining -= 1
        self._maybe_settle()

    def _maybe_settle(self) -> None:
        if self.remaining > 0:
            return
        if not self.return_exceptions:
            for child in self.children:
                if child.error is not None:
                    self.settle(error=child.error)
                    return
        self.settle([c.error if c.error is not None else c.value for c in self.children])

    def drop(self, engine: Scheduler) -> None:
        for child in self.children:
            child.drop(engine)
        self.done = True


class Race(Node):
    __slots__ = ("children", "engine")

    def __init__(self, engine: Scheduler, children: list[Node]) -> None:
        super().__init__()
        self.children = children
        self.engine = engine
        for child in children:
            child.parent = self
        for child in children:
            if child.done:
                self.child_settled(child)
                break

    def child_settled(self, child: Node) -> None:
        if self.done:
            return
        index = self.children.index(child)
        for other in self.children:
            if other is not child:
                other.drop(self.engine)
        if child.error is not None:
            self.settle(error=child.error)
        else:
            self.settle(RaceResult(index, child.value))

    def drop(self, engine: Scheduler) -> None:
        for child in self.children:
            child.drop(engine)
        self.done = True
