"""The replay engine: a turn is a pure function of code, history and new messages."""

from .actions import TurnResult
from .engine import Replayer

__all__ = ["Replayer", "TurnResult"]
