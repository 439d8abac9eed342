"""The user's orchestration code: the one place the engine runs it.

``UserCode`` starts the generator, advances it with a settled result and closes it, and says
where it is suspended. Whatever the code raises -- ``sys.exit()`` and other ``BaseException``s
included, ``KeyboardInterrupt`` excepted -- becomes a ``Raised`` step that fails this execution
only; nothing user code does escapes into the runtime.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Union

from ..history import FailureDetails
from ..model.context import OrchestrationContext
from ..model.registry import takes_input

OrchestrationFunction = Callable[..., Generator[Any, Any, Any]]
Advance = Callable[[Generator[Any, Any, Any]], Any]
"""How to resume the generator: ``gen.send(value)`` or ``gen.throw(error)``."""


@dataclass(frozen=True, slots=True)
class Yielded:
    value: Any


@dataclass(frozen=True, slots=True)
class Returned:
    value: Any


@dataclass(frozen=True, slots=True)
class Raised:
    error: BaseException
    failure: FailureDetails


Step = Union[Yielded, Returned, Raised]


class _NullBackend:
    """Used while closing a generator: user ``finally`` blocks can schedule nothing."""

    is_replaying = True

    def trace(self, level: str, message: str) -> None:
        pass

    def set_custom_status(self, value: Any) -> None:
        pass


class UserCode:
    """One execution's generator."""

    __slots__ = ("fn", "_generator", "_context", "_last_location")

    def __init__(self, fn: OrchestrationFunction) -> None:
        self.fn = fn
        self._generator: Generator[Any, Any, Any] | None = None
        self._context: OrchestrationContext | None = None
        self._last_location = "<the orchestration's start>"

    def start(self, context: OrchestrationContext, input: Any) -> Step:
        """Create the generator (passing ``input`` when the function takes one) and run it to its first yield."""
        self._context = context
        try:
            self._generator = self.fn(context, input) if takes_input(self.fn) else self.fn(context)
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001 - user code fails this execution only
            return Raised(error, FailureDetails.from_exception(error))
        return self.advance(lambda gen: gen.send(None))

    def advance(self, how: Advance) -> Step:
        """Resume the code until it yields, returns or raises."""
        assert self._generator is not None
        try:
            value = how(self._generator)
        except StopIteration as stop:
            return Returned(stop.value)
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001 - user code (sys.exit included) fails this execution only
            return Raised(error, FailureDetails.from_exception(error))
        self._last_location = self.location()
        return Yielded(value)

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

    def location(self) -> str:
        """``file.py:LINE`` where the code is suspended (innermost generator), else its last yield."""
        frame = self.frame()
        if frame is None:
            return self._last_location
        return f"{frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno}"

    def frame(self) -> Any:
        """The innermost suspended frame of the generator, or None."""
        gen: Any = self._generator
        frame = None
        while gen is not None and getattr(gen, "gi_frame", None) is not None:
            frame = gen.gi_frame
            gen = getattr(gen, "gi_yieldfrom", None)
        return frame
