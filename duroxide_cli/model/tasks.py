"""The yieldable task descriptors.

A descriptor is inert data: nothing is scheduled until the orchestration yields it (alone, or
inside ``ctx.all`` / ``ctx.race``). The replay engine turns a yielded descriptor into recorded
events and work.
"""

from __future__ import annotations

import abc
import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from .options import RetryPolicy


class Task(abc.ABC):
    """Base of everything an orchestration may yield."""

    __slots__ = ()

    @abc.abstractmethod
    def describe(self) -> str:
        """A short phrase for error messages, e.g. ``scheduled activity 'Charge'``."""


@dataclass(frozen=True, slots=True)
class ActivityTask(Task):
    name: str
    input: Any = None

    def describe(self) -> str:
        return f"scheduled activity '{self.name}' with input {payload_text(self.input)}"


@dataclass(frozen=True, slots=True)
class RetryActivityTask(Task):
    name: str
    input: Any
    retry: RetryPolicy

    def describe(self) -> str:
        return f"scheduled activity '{self.name}' (with retry) with input {payload_text(self.input)}"


@dataclass(frozen=True, slots=True)
class TimerTask(Task):
    delay_ms: int

    def describe(self) -> str:
        return f"created a timer of {self.delay_ms} ms"


@dataclass(frozen=True, slots=True)
class EventTask(Task):
    name: str

    def describe(self) -> str:
        return f"waited for event '{self.name}'"


@dataclass(frozen=True, slots=True)
class SubOrchestrationTask(Task):
    name: str
    instance_id: str | None = None
    """None: derived from the parent as ``{parent}::{execution_id}::{event_id}``."""
    input: Any = None
    version: str | None = None

    def describe(self) -> str:
        return f"scheduled sub-orchestration '{self.name}' with input {payload_text(self.input)}"


@dataclass(frozen=True, slots=True)
class StartOrchestrationTask(Task):
    name: str
    instance_id: str
    input: Any = None
    version: str | None = None

    def describe(self) -> str:
        return f"started orchestration '{self.name}' as '{self.instance_id}'"


@dataclass(frozen=True, slots=True)
class SystemCallTask(Task):
    op: str
    """``utc_now`` or ``new_guid``."""

    def describe(self) -> str:
        return f"called ctx.{self.op}()"


@dataclass(frozen=True, slots=True)
class ContinueAsNewTask(Task):
    input: Any = None
    version: str | None = None

    def describe(self) -> str:
        return "continued as new"


@dataclass(frozen=True, slots=True)
class AllTask(Task):
    tasks: tuple[Task, ...]
    return_exceptions: bool = False

    def describe(self) -> str:
        return f"waited for all of {len(self.tasks)} tasks"


@dataclass(frozen=True, slots=True)
class RaceTask(Task):
    tasks: tuple[Task, ...]

    def describe(self) -> str:
        return f"raced {len(self.tasks)} tasks"


class RaceResult(NamedTuple):
    """The first task of a race to finish: its position in the race and its value."""

    index: int  # type: ignore[assignment]  # shadows tuple.index, as the documented name requires
    value: Any


def payload_text(value: Any) -> str:
    """A payload as compact JSON, whole: descriptions of what the code did (``duroxide replay``,
    nondeterminism errors) show it as the history stores it. A value JSON cannot encode (the
    turn fails on it anyway) falls back to ``short_repr``."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return short_repr(value)


def short_repr(value: Any, limit: int = 60) -> str:
    """``repr`` cut to ``limit`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
