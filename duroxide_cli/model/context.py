"""OrchestrationContext and ActivityContext: what user code receives as ``ctx``."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Protocol

from ..payloads import check_instance_id, check_text, normalize
from .options import RetryPolicy, check_delay_ms
from .tasks import (
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


class ContextBackend(Protocol):
    """What the context needs from the machinery that drives it (the replay engine implements it)."""

    @property
    def is_replaying(self) -> bool: ...

    def trace(self, level: str, message: str) -> None: ...

    def set_custom_status(self, value: Any) -> None: ...


class OrchestrationContext:
    """Passed to an orchestration. Every scheduling call returns a task to ``yield``."""

    __slots__ = ("instance_id", "execution_id", "orchestration_name", "orchestration_version", "_backend")

    def __init__(self, instance_id: str, execution_id: int, name: str, version: str, backend: ContextBackend):
        self.instance_id = instance_id
        """The instance this execution belongs to."""
        self.execution_id = execution_id
        """1 for the first execution, +1 at each continue_as_new."""
        self.orchestration_name = name
        self.orchestration_version = version
        self._backend = backend

    @property
    def is_replaying(self) -> bool:
        """True while the code re-runs steps the history already holds."""
        return self._backend.is_replaying

    # -- durable tasks ----------------------------------------------------------------------
    def schedule_activity(self, name: str, input: Any = None) -> ActivityTask:
        """Run the activity ``name``; the yield gives its result or raises ActivityError."""
        return ActivityTask(_name(name, "activity"), normalize(input, f"input of activity '{name}'"))

    def schedule_activity_with_retry(self, name: str, input: Any, retry: RetryPolicy | dict[str, Any]) -> RetryActivityTask:
        """Run the activity with retries; delays between attempts are durable timers."""
        policy = RetryPolicy.coerce(retry)
        return RetryActivityTask(_name(name, "activity"), normalize(input, f"input of activity '{name}'"), policy)

    def schedule_timer(self, delay_ms: int) -> TimerTask:
        """A durable timer; the yield gives None once ``delay_ms`` has passed."""
        problem = check_delay_ms(delay_ms, "timer delay")
        if problem:
            raise ValueError(problem)
        return TimerTask(int(delay_ms))

    def wait_for_event(self, name: str) -> EventTask:
        """The data of the oldest undelivered event ``name`` (buffered if raised earlier)."""
        return EventTask(_name(name, "event"))

    def schedule_sub_orchestration(self, name: str, input: Any = None, version: str | None = None) -> SubOrchestrationTask:
        """Run a child orchestration with an id derived from this one; the yield gives its output."""
        return SubOrchestrationTask(_name(name, "orchestration"), None, normalize(input, f"input of sub-orchestration '{name}'"), _version(version))

    def schedule_sub_orchestration_with_id(
        self, name: str, instance_id: str, input: Any = None, version: str | None = None
    ) -> SubOrchestrationTask:
        """Run a child orchestration under an explicit instance id."""
        check_instance_id(instance_id, "sub-orchestration instance id")
        return SubOrchestrationTask(_name(name, "orchestration"), instance_id, normalize(input, f"input of sub-orchestration '{name}'"), _version(version))

    def start_orchestration(self, name: str, instance_id: str, input: Any = None, version: str | None = None) -> StartOrchestrationTask:
        """Start an independent instance (fire-and-forget); the yield gives None at once."""
        check_instance_id(instance_id)
        return StartOrchestrationTask(_name(name, "orchestration"), instance_id, normalize(input, f"input of orchestration '{name}'"), _version(version))

    def utc_now(self) -> SystemCallTask:
        """The current time in epoch ms, recorded so that replay sees the same value."""
        return SystemCallTask("utc_now")

    def new_guid(self) -> SystemCallTask:
        """A UUID string, recorded so that replay sees the same value."""
        return SystemCallTask("new_guid")

    def continue_as_new(self, input: Any = None, version: str | None = None) -> ContinueAsNewTask:
        """End this execution and start a fresh one with ``input`` (and an empty history)."""
        return ContinueAsNewTask(normalize(input, "input of continue_as_new"), _version(version))

    def all(self, tasks: Iterable[Task], return_exceptions: bool = False) -> AllTask:
        """Wait for every task; results in order. The first failure (in list order) is raised."""
        return AllTask(_composable(tasks, "all"), bool(return_exceptions))

    def race(self, *tasks: Task | Iterable[Task]) -> RaceTask:
        """The first of two or more tasks to finish, as ``RaceResult(index, value)``."""
        items: Any = tasks[0] if len(tasks) == 1 and not isinstance(tasks[0], Task) else tasks
        members = _composable(items, "race")
        if len(members) < 2:
            raise ValueError(f"ctx.race needs two or more tasks, got {len(members)}")
        return RaceTask(members)

    # -- not yielded ------------------------------------------------------------------------
    def set_custom_status(self, value: Any) -> None:
        """Publish a JSON value that ``Client.get_status`` shows while the instance runs."""
        self._backend.set_custom_status(normalize(value, "custom status"))

    def trace_info(self, message: str) -> None:
        self._backend.trace("info", str(message))

    def trace_warn(self, message: str) -> None:
        self._backend.trace("warning", str(message))

    def trace_error(self, message: str) -> None:
        self._backend.trace("error", str(message))

    def trace_debug(self, message: str) -> None:
        self._backend.trace("debug", str(message))


def _name(name: Any, what: str) -> str:
    return check_text(name, f"{what} name")


def _composable(tasks: Iterable[Task], combinator: str) -> tuple[Task, ...]:
    members = tuple(tasks)
    for task in members:
        if isinstance(task, (AllTask, RaceTask)):
            raise TypeError(
                f"ctx.{combinator} cannot take a nested ctx.all or ctx.race; yield the inner one first and pass its tasks flat"
            )
        if isinstance(task, ContinueAsNewTask) or not isinstance(task, Task):
            raise TypeError(f"ctx.{combinator} takes tasks from ctx.schedule_*/wait_for_event/..., got {type(task).__name__}")
    return members


_ACTIVITY_LOG = logging.getLogger("duroxide.activity")


class ActivityContext:
    """Passed to an activity: where it runs and whether it is still wanted."""

    def __init__(
        self,
        *,
        instance_id: str,
        execution_id: int,
        orchestration_name: str,
        orchestration_version: str,
        activity_name: str,
        activity_id: int,
        attempt: int,
        worker_id: str,
    ):
        self.instance_id = instance_id
        self.execution_id = execution_id
        self.orchestration_name = orchestration_name
        self.orchestration_version = orchestration_version
        self.activity_name = activity_name
        self.activity_id = activity_id
        """The id of the ActivityScheduled event in the orchestration's history."""
        self.attempt = attempt
        """The retry-policy attempt, from 1."""
        self.worker_id = worker_id
        self._cancelled = False
        """Set once by the runtime, read by the activity's code from any thread: a plain flag is
        enough (nothing waits on it), where an Event cost a lock and a condition per activity."""

    def is_cancelled(self) -> bool:
        """True once the orchestration no longer needs the result (lost race, cancel, finished)."""
        return self._cancelled

    def _cancel(self) -> None:
        self._cancelled = True

    def _fields(self) -> dict[str, Any]:
        return {
            "instance_id": self.instance_id,
            "execution_id": self.execution_id,
            "orchestration_name": self.orchestration_name,
            "orchestration_version": self.orchestration_version,
            "activity_name": self.activity_name,
            "activity_id": self.activity_id,
            "worker_id": self.worker_id,
        }

    def trace_info(self, message: str) -> None:
        _ACTIVITY_LOG.info(str(message), extra=self._fields())

    def trace_warn(self, message: str) -> None:
        _ACTIVITY_LOG.warning(str(message), extra=self._fields())

    def trace_error(self, message: str) -> None:
        _ACTIVITY_LOG.error(str(message), extra=self._fields())

    def trace_debug(self, message: str) -> None:
        _ACTIVITY_LOG.debug(str(message), extra=self._fields())


def _version(version: Any) -> Any:
    """A version that will be stored on a start message: None, or text that can be stored."""
    return version if version is None else check_text(version, "version")
