"""How the engine describes code that no longer produces its recorded history.

Each function builds the ``NondeterminismError`` for one way of diverging. The engine raises
them from its own frames (never inside user code) and catches them in one place, around each
applied event, where the execution fails with the error.
"""

from __future__ import annotations

from ..errors import NondeterminismError
from ..history import HistoryEvent
from .matching import describe_event

CODE_CHANGED = "the code changed since the history was recorded"


def mismatch(recorded: HistoryEvent, action: str, location: str) -> NondeterminismError:
    """The code produced ``action`` where the history holds ``recorded``."""
    return NondeterminismError(describe_event(recorded), action, location, CODE_CHANGED)


def beyond_history(action: str, location: str) -> NondeterminismError:
    """The code scheduled something while replaying, past the last recorded scheduling event."""
    return NondeterminismError("no further scheduling event", action, location, "the code schedules more than it did before")


def not_scheduled(recorded: HistoryEvent, state: str, location: str) -> NondeterminismError:
    """A recorded scheduling event the code did not produce (``state``: what it does instead)."""
    return NondeterminismError(describe_event(recorded), f"did not schedule it ({state})", location, CODE_CHANGED)


def not_awaited(completion: HistoryEvent, of: HistoryEvent | None, state: str, location: str) -> NondeterminismError:
    """A recorded completion of something the code does not (or no longer) wait for."""
    target = describe_event(of) if of is not None else f"unknown event {completion.source_event_id}"
    return NondeterminismError(
        f"{completion.kind} (event {completion.event_id}) of {target}", f"does not wait for it ({state})", location, CODE_CHANGED
    )


def ending_mismatch(recorded: HistoryEvent, state: str, location: str) -> NondeterminismError:
    """A recorded ending where the code is in ``state`` (still waiting, or ended otherwise)."""
    return NondeterminismError(describe_event(recorded), state, location)


def no_recorded_ending(last: HistoryEvent, ending: str, location: str) -> NondeterminismError:
    """The code ended (``ending``) while replaying, where the history shows it still running."""
    return NondeterminismError(f"no ending after {describe_event(last)}", f"ended with {ending}", location, CODE_CHANGED)
