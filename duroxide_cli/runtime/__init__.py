"""The runtime: dispatches orchestration turns and activities against a store."""

from ..clock import Clock
from .runtime import Runtime
from .stats import RuntimeStats

__all__ = ["Clock", "Runtime", "RuntimeStats"]
